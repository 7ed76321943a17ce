import NIOCore
import NIOPosix
import Storage
import StorageTestSupport
@testable import ISCSITarget
import XCTest

/// `targe status` text from live devices: the tree under a LUN, RAID1 member health as the
/// mirror sees it, the one-line health summary, and the 79-column limit.
final class StatusReportTests: XCTestCase {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var loop: EventLoop { group.next() }

    override func tearDown() {
        try? group.syncShutdownGracefully()
        super.tearDown()
    }

    func testMirrorWithAFailedMemberIsDegraded() throws {
        let rams = try (0..<2).map { try RAMDevice(name: "disk\($0)", size: 1 << 20) }
        let wrapped = rams.map { FaultInjectingDevice(wrapping: $0) }
        let mirror = try RAID1Device(name: "mirror", members: wrapped)
        defer { mirror.close() }
        try mirror.write(offset: 0, buffers: [ByteBuffer(bytes: [UInt8](repeating: 7, count: 65536))],
                         forceUnitAccess: false, on: loop).wait()
        wrapped[0].failFrom(1, of: [.read])
        for i in 0..<8 { _ = try mirror.read(offset: UInt64(i) * 8192, length: 8192, on: loop).wait() }

        let tree = StatusReport.describe(mirror, health: nil, sources: ["disk0": "/dev/loop7", "disk1": "/srv/b.img"])
        XCTAssertEqual(tree.kind, "raid1")
        XCTAssertEqual(tree.members.map(\.name), ["disk0", "disk1"])
        XCTAssertTrue(tree.members[0].health.hasPrefix("FAILED ("), tree.members[0].health)
        XCTAssertEqual(tree.members[1].health, "healthy")
        XCTAssertEqual(tree.members[0].source, "/dev/loop7")

        let report = StatusReport(pid: 42, portals: ["127.0.0.1:3260"],
                                  targets: [.init(name: "iqn.2026-11.org.targe:" + String(repeating: "long-name-", count: 8),
                                                  units: [.init(lun: 0, blockSize: 512, readOnly: false, device: tree)])],
                                  sessions: [])
        let lines = report.render()
        XCTAssertEqual(report.degradedMembers, ["disk0"])
        XCTAssertEqual(lines[1], "health: DEGRADED (disk0)")
        XCTAssertTrue(lines.contains("    mirror: raid1, 1 MiB"), lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("      disk0: device, 1 MiB, /dev/loop7 [FAILED (") },
                      lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains("      disk1: device, 1 MiB, /srv/b.img [healthy]"), lines.joined(separator: "\n"))
        XCTAssertTrue(lines.allSatisfy { $0.count <= 79 }, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("target iqn.2026-11.org.targe:long-name-") && $0.hasSuffix("...") })
        XCTAssertEqual(lines.last, "sessions: none")
    }

    func testStripeAndRAMDevicesAndAHealthyMirror() throws {
        let stripe = try RAID0Device(name: "fast", members: try (0..<2).map { try RAMDevice(name: "r\($0)", size: 1 << 20) },
                                     chunk: 64 << 10)
        defer { stripe.close() }
        let tree = StatusReport.describe(stripe, health: nil, sources: [:])
        XCTAssertEqual(tree.kind, "raid0 stripe 64 KiB")
        XCTAssertEqual(tree.members.map(\.kind), ["ram", "ram"])
        XCTAssertEqual(tree.size, 2 << 20)
        let report = StatusReport(pid: 1, portals: [], targets: [.init(name: "t", units: [
            .init(lun: 3, blockSize: 4096, readOnly: true, device: tree)])], sessions: [])
        let lines = report.render()
        XCTAssertEqual(lines[1], "health: ok")
        XCTAssertTrue(lines.contains("  lun 3: 2 MiB, 4096-byte blocks, read-only"), lines.joined(separator: "\n"))
    }

    func testSizes() {
        XCTAssertEqual(sizeText(1 << 30), "1 GiB")
        XCTAssertEqual(sizeText(1536), "1.5 KiB")
        XCTAssertEqual(sizeText(512), "512 B")
    }
}
