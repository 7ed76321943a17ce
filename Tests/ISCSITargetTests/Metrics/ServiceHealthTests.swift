@testable import DeviceServer
@testable import ISCSITarget
import NIOCore
import NIOEmbedded
import SCSI
import Storage
import StorageTestSupport
import XCTest

/// What `/healthz` answers: 503 with the reason when stopping or listening nowhere; a
/// degraded mirror is a note under "ok", since its LU still serves.
final class ServiceHealthTests: XCTestCase {
    func testReasonsAndNotes() throws {
        let loop = EmbeddedEventLoop()
        let members = try (0..<2).map { FaultInjectingDevice(wrapping: try RAMDevice(name: "m\($0)", size: 1 << 20)) }
        let mirror = try RAID1Device(name: "mirror", members: members)
        defer { mirror.close() }
        let unit = LogicalUnit(info: LogicalUnitInfo(blockCount: 2048, targetName: "iqn.2026-12.org.test:t", deviceName: "mirror"),
                               device: mirror)
        let catalog = TargetCatalog(targets: [ExportedTarget(name: "iqn.2026-12.org.test:t", alias: nil, units: [0: unit])])

        let serving = ServiceHealth.evaluate(catalog: catalog, listening: ["127.0.0.1:3260"], stopping: false)
        XCTAssertEqual(serving, ServiceHealth(serving: true, notes: []))
        XCTAssertEqual(serving.text, "ok\n")

        let stopping = ServiceHealth.evaluate(catalog: catalog, listening: [], stopping: true)
        XCTAssertFalse(stopping.serving)
        XCTAssertEqual(stopping.text, "unavailable\nstopping: sessions are being logged out\nno portal is listening\n")

        try mirror.write(offset: 0, buffers: [ByteBuffer(bytes: [UInt8](repeating: 1, count: 65536))], forceUnitAccess: false,
                         on: loop).wait()
        members[0].failFrom(1, of: [.read])
        for i in 0..<8 { _ = try? mirror.read(offset: UInt64(i) * 8192, length: 8192, on: loop).wait() }
        let degraded = ServiceHealth.evaluate(catalog: catalog, listening: ["127.0.0.1:3260"], stopping: false)
        XCTAssertTrue(degraded.serving, "a degraded mirror still serves")
        XCTAssertEqual(degraded.notes.count, 1, degraded.text)
        XCTAssertTrue(degraded.notes.first?.hasPrefix("degraded: mirror: m0: failed") == true, degraded.text)
    }
}
