import NIOCore
import NIOPosix
@testable import Storage
import StorageTestSupport
import XCTest

/// The RAID1's parts on their own: read balancing, region locks, and what a device reports
/// about itself for `targe status`.
final class MirrorPartsTests: StorageTestCase {
    func member(_ name: String, state: MemberStatus.State = .healthy, inFlight: Int = 0, lastReadEnd: UInt64 = 0) throws -> MirrorMemberSet.Member {
        var m = MirrorMemberSet.Member(device: try RAMDevice(name: name, size: 4096), name: name, state: state, reason: "")
        m.inFlight = inFlight
        m.lastReadEnd = lastReadEnd
        return m
    }

    func testReadBalancerPrefersFewestInFlightThenNearestThenFirst() throws {
        let idle = [try member("a"), try member("b")]
        XCTAssertEqual(MirrorReadBalancer.choose(among: idle, offset: 0, excluding: []), 0)
        let busy = [try member("a", inFlight: 2), try member("b", inFlight: 1)]
        XCTAssertEqual(MirrorReadBalancer.choose(among: busy, offset: 0, excluding: []), 1)
        let near = [try member("a", lastReadEnd: 0), try member("b", lastReadEnd: 1 << 20)]
        XCTAssertEqual(MirrorReadBalancer.choose(among: near, offset: (1 << 20) + 4096, excluding: []), 1)
        XCTAssertEqual(MirrorReadBalancer.choose(among: near, offset: (1 << 20) + 4096, excluding: [1]), 0)
        let stale = [try member("a", state: .resyncing), try member("b", state: .failed)]
        XCTAssertNil(MirrorReadBalancer.choose(among: stale, offset: 0, excluding: []))
    }

    func testACopyWaitsForWritesAndLaterWritesWaitForTheCopy() throws {
        var locks = MirrorRegionLocks()
        let write = locks.acquireWrite(2..<4, on: loop)
        XCTAssertNoThrow(try write.wait())
        let copy = locks.acquireCopy(3, on: loop)
        // A waiting copy holds back new writes to its region, not to others.
        let blocked = locks.acquireWrite(3..<4, on: loop)
        XCTAssertNoThrow(try locks.acquireWrite(5..<6, on: loop).wait())
        XCTAssertTrue(locks.releaseWrite(5..<6).isEmpty)
        let copies = locks.releaseWrite(2..<4)
        XCTAssertEqual(copies.count, 1)
        copies.forEach { $0.succeed() }
        XCTAssertNoThrow(try copy.wait())
        XCTAssertFalse(locks.isIdle)
        let writes = locks.releaseCopy(3)
        XCTAssertEqual(writes.count, 1)
        writes.forEach { $0.succeed() }
        XCTAssertNoThrow(try blocked.wait())
        XCTAssertTrue(locks.hasWriter(3))
        XCTAssertTrue(locks.releaseWrite(3..<4).isEmpty)
        XCTAssertTrue(locks.isIdle)
    }

    func testQuietRegionsHaveNoWriteInFlightOrSinceTheSnapshot() throws {
        var locks = MirrorRegionLocks()
        XCTAssertNoThrow(try locks.acquireWrite(0..<1, on: loop).wait())
        _ = locks.releaseWrite(0..<1)
        let snapshot = locks.writeSequence
        XCTAssertNoThrow(try locks.acquireWrite(1..<2, on: loop).wait())
        _ = locks.releaseWrite(1..<2)
        XCTAssertNoThrow(try locks.acquireWrite(2..<3, on: loop).wait())
        XCTAssertEqual(locks.quiet([0, 1, 2, 3], since: snapshot), [0, 3])
        _ = locks.releaseWrite(2..<3)
    }

    func testDevicesReportTheirKindAndMembers() throws {
        let rams = try (0..<2).map { try RAMDevice(name: "r\($0)", size: 1 << 20) }
        XCTAssertEqual(rams[0].reportedStatus.kind, "ram")
        XCTAssertTrue(rams[0].components.isEmpty)
        let concat = try RAID0Device(name: "c", members: [rams[0]], chunk: nil)
        XCTAssertEqual(concat.reportedStatus.kind, "raid0 concat")
        let wrapped = FaultInjectingDevice(wrapping: rams[1], closesWrapped: false)
        XCTAssertEqual(wrapped.reportedStatus.kind, "device")
        let mirror = try RAID1Device(name: "m", members: [concat, wrapped])
        defer { mirror.close() }
        let status = mirror.reportedStatus
        XCTAssertEqual(status.kind, "raid1")
        XCTAssertTrue(mirror.components[0] === concat && mirror.components[1] === wrapped)
        XCTAssertEqual(status.members.map { $0.health?.state }, [.healthy, .healthy])
        XCTAssertNoThrow(try mirror.failMember(1, reason: "test", on: loop).wait())
        XCTAssertEqual(mirror.reportedStatus.members.map { $0.health?.state }, [.healthy, .failed])
        XCTAssertTrue(concat.reportedStatus.members.allSatisfy { $0.health == nil })
        let stripe = try RAID0Device(name: "s", members: try (0..<2).map { try RAMDevice(name: "s\($0)", size: 1 << 20) },
                                     chunk: 1 << 20)
        defer { stripe.close() }
        XCTAssertEqual(stripe.reportedStatus.kind, "raid0 stripe 1 MiB")
    }
}
