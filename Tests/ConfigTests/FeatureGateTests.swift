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
        XCTAssertEqual(errors.map(\.line), [11, 24, 25], "\(ConfigErrors(errors))")
        XCTAssertTrue(errors.allSatisfy { $0.message.hasSuffix("is not supported yet") && $0.file == "f.conf" })
        XCTAssertTrue(errors[0].message.contains("engine aio"))
        XCTAssertFalse(errors.contains { [1, 3, 5, 6, 8, 14, 20, 21, 22].contains($0.line) },
                       "[appliance], user, CHAP, [clients], allow and RAID are supported")
    }

    func testBlockDeviceWithoutBufferedEngine() throws {
        let candidates = ["/dev/loop0", "/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/zram0"]
        guard let device = candidates.first(where: { path in
            var info = stat()
            return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFBLK
        }) else {
            throw XCTSkip("no block device to test with")
        }
        let config = try parseValid("[device d]\npath \(device)\n[target t]\nlun 0 d\n")
        let errors = FeatureGate.unsupported(in: config)
        XCTAssertEqual(errors.map(\.line), [2])
        XCTAssertTrue(errors.first?.message.contains("engine buffered") ?? false)
        let buffered = try parseValid("[device d]\npath \(device)\nengine buffered\n[target t]\nlun 0 d\n")
        XCTAssertEqual(FeatureGate.unsupported(in: buffered), [])
    }
}
