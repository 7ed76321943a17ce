import XCTest
import Glibc
import Config

final class FeatureGateTests: XCTestCase {
    func testSupportedConfigPasses() throws {
        let text = minimalConfig + "allow all\n[device f]\npath /tmp/x.img\nengine buffered\n[target u]\nlun 0 f\n"
            + "[connection]\nMaxConnections 1\nErrorRecoveryLevel 0\n[server]\nlisten 127.0.0.1:0\n"
        XCTAssertEqual(FeatureGate.unsupported(in: try parseValid(text)), [])
    }

    func testEachUnsupportedFeatureNamesItsLine() throws {
        let text = """
            [appliance]
            [server]
            user targe
            [auth]
            incoming alice alice-secret-1
            outgoing box box-secret-123
            [clients]
            deny 10.0.0.0/8
            [device a]
            path /tmp/a.img
            engine aio
            [device b]
            ram 1MiB
            [combination m]
            raid 0
            members a
            [target t]
            lun 0 m
            lun 1 b
            allow iqn.2000-01.com.example:x
            incoming bob bob-secret-123
            outgoing t t-secret-12345
            [connection]
            MaxConnections 2
            ErrorRecoveryLevel 1
            """
        let errors = FeatureGate.unsupported(in: try parseValid(text), file: "f.conf")
        XCTAssertEqual(errors.map(\.line), [25], "\(ConfigErrors(errors))")
        XCTAssertTrue(errors.allSatisfy { $0.message.hasSuffix("is not supported yet") && $0.file == "f.conf" })
        XCTAssertEqual(errors[0].description, "f.conf:25: ErrorRecoveryLevel 1 is not supported yet")
        XCTAssertFalse(errors.contains { [1, 3, 5, 6, 8, 11, 14, 20, 21, 22, 24].contains($0.line) },
                       "[appliance], user, CHAP, [clients], engine aio, allow, RAID and MaxConnections are supported")
    }

    /// Block devices default to the aio engine, which is built: no gate either way.
    func testBlockDeviceNeedsNoEngineLine() throws {
        let config = try parseValid("[device d]\npath /dev/loop0\n[target t]\nlun 0 d\n")
        XCTAssertEqual(FeatureGate.unsupported(in: config), [])
    }
}
