import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Storage
import StorageTestSupport
import XCTest

final class RAID1DeviceTests: StorageTestCase {
    let mib: UInt64 = 1 << 20
    let region: UInt64 = 64 * 1024

    func members(_ count: Int, size: UInt64 = 1 << 20, latency: TimeAmount? = nil, prefix: String = "d") throws -> (rams: [RAMDevice], wrapped: [FaultInjectingDevice]) {
        let rams = try (0..<count).map { try RAMDevice(name: "\(prefix)\($0)", size: size) }
        return (rams, rams.map { FaultInjectingDevice(wrapping: $0, latency: latency) })
    }

    func contents(_ device: BlockDevice) throws -> [UInt8] {
        try readBack(device, offset: 0, length: Int(device.size))
    }

    func testWritesReachEveryMemberIdentically() throws {
        let (rams, wrapped) = try members(3)
        let raid = try RAID1Device(name: "m", members: wrapped)
        defer { raid.close() }
        XCTAssertEqual(raid.size, mib)
        XCTAssertFalse(raid.hasVolatileCache)
        var model = [UInt8](repeating: 0, count: Int(mib))
        var rng = SplitMix64(state: 7)
        for round in 0..<50 {
            let offset = rng.below(Int(mib) - 1)
            let length = min(rng.below(100_000) + 1, Int(mib) - offset)
            let bytes = pattern(length, seed: round)
            model.replaceSubrange(offset..<(offset + length), with: bytes)
            try writeChunks(raid, offset: UInt64(offset), [Array(bytes[..<(length / 2)]), Array(bytes[(length / 2)...])], fua: round % 4 == 0)
        }
        for ram in rams { XCTAssertEqual(try contents(ram), model, "\(ram.name) is a plain copy of the LU") }
        XCTAssertEqual(try contents(raid), model)
        XCTAssertEqual(wrapped.map(\.counters.writes), [50, 50, 50])
        XCTAssertEqual(raid.memberStates.map(\.state), [.healthy, .healthy, .healthy])
        try raid.flush(on: loop).wait()
        XCTAssertEqual(wrapped.map(\.counters.flushes), [1, 1, 1])
    }

    func testSizeIsTheSmallestMember() throws {
        let a = try RAMDevice(name: "a", size: 2 * mib)
        let b = try RAMDevice(name: "b", size: mib)
        let raid = try RAID1Device(name: "m", members: [a, b])
        defer { raid.close() }
        XCTAssertEqual(raid.size, mib)
        try writeChunks(raid, offset: mib - 4, [[1, 2, 3, 4]])
        XCTAssertEqual(try readBack(a, offset: mib - 4, length: 8), [1, 2, 3, 4, 0, 0, 0, 0], "the bigger member's tail is left alone")
        guard case .outOfRange? = failure(raid.read(offset: mib, length: 1, on: loop)) else { return XCTFail("range") }
    }

    func testConcurrentReadsUseEveryMember() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 4)
        defer { try? group.syncShutdownGracefully() }
        let (_, wrapped) = try members(2, latency: .milliseconds(2))
        let raid = try RAID1Device(name: "m", members: wrapped)
        defer { raid.close() }
        try writeChunks(raid, offset: 0, [pattern(65536, seed: 1)])
        wrapped.forEach { $0.resetCounters() }
        // 256 reads of one region, 64 in flight at a time from four event loops.
        for _ in 0..<4 {
            let futures = (0..<64).map { i -> EventLoopFuture<ByteBuffer> in
                let l = group.next()
                return l.flatSubmit { raid.read(offset: UInt64(i % 16) * 4096, length: 4096, on: l) }
            }
            for f in futures { XCTAssertEqual(try f.wait().readableBytes, 4096) }
        }
        let reads = wrapped.map(\.counters.reads)
        XCTAssertEqual(reads.reduce(0, +), 256)
        XCTAssertGreaterThan(reads[0], 64, "\(reads)")
        XCTAssertGreaterThan(reads[1], 64, "\(reads)")
        XCTAssertGreaterThan(wrapped[0].counters.maxInFlight, 1)
    }

    func testSequentialReadsStayOnOneMemberAndStreamsSeparate() throws {
        let (_, wrapped) = try members(2)
        let raid = try RAID1Device(name: "m", members: wrapped)
        defer { raid.close() }
        for i in 0..<32 { _ = try readBack(raid, offset: UInt64(i) * 8192, length: 8192) }
        XCTAssertEqual(wrapped.map(\.counters.reads).sorted(), [0, 32], "a sequential stream keeps to one disk")
        wrapped.forEach { $0.resetCounters() }
        // Two interleaved streams far apart settle on one member each.
        for i in 0..<32 {
            _ = try readBack(raid, offset: UInt64(i) * 4096, length: 4096)
            _ = try readBack(raid, offset: mib / 2 + UInt64(i) * 4096, length: 4096)
        }
        let reads = wrapped.map(\.counters.reads)
        XCTAssertGreaterThanOrEqual(min(reads[0], reads[1]), 28, "\(reads)")
    }

    func testReadErrorFailsTheMemberAndIsRetriedElsewhere() throws {
        let (_, wrapped) = try members(2)
        let failures = NIOLockedValueBox<[String]>([])
        let raid = try RAID1Device(name: "m", members: wrapped, onMemberFailure: { member, error in
            failures.withLockedValue { $0.append("\(member): \(error)") }
        })
        defer { raid.close() }
        let data = pattern(Int(mib), seed: 2)
        try writeChunks(raid, offset: 0, [data])
        wrapped[0].failFrom(1, of: [.read])
        for i in 0..<8 {
            XCTAssertEqual(try readBack(raid, offset: UInt64(i) * 65536, length: 65536), Array(data[(i * 65536)..<((i + 1) * 65536)]))
        }
        XCTAssertEqual(wrapped[0].counters.injected, 1, "tried once, then left alone")
        XCTAssertEqual(raid.memberStates[0].state, .failed)
        XCTAssertTrue(raid.memberStates[0].reason.contains("read"), raid.memberStates[0].reason)
        XCTAssertEqual(raid.memberStates[1].state, .healthy)
        XCTAssertEqual(failures.withLockedValue { $0.count }, 1)
        XCTAssertTrue(failures.withLockedValue { $0[0] }.hasPrefix("d0: "))
        // Degraded writes skip the failed member.
        wrapped.forEach { $0.resetCounters() }
        try writeChunks(raid, offset: 0, [[9, 9, 9]])
        XCTAssertEqual(wrapped.map(\.counters.writes), [0, 1])
    }

    func testShortReadFailsTheMember() throws {
        let (_, wrapped) = try members(2)
        let raid = try RAID1Device(name: "m", members: wrapped)
        defer { raid.close() }
        let data = pattern(8192, seed: 4)
        try writeChunks(raid, offset: 0, [data])
        wrapped[0].inject(.init([.read], .nth(1), .short))
        wrapped[1].inject(.init([.read], .nth(1), .short))
        // The first read goes to d0 (ties go to the first member), comes back short, is retried on d1, short again.
        guard case .shortTransfer? = failure(raid.read(offset: 0, length: 8192, on: loop)) else { return XCTFail("both short") }
        XCTAssertEqual(raid.memberStates.map(\.state), [.failed, .failed])
        guard case .noHealthyMember(device: "m", operation: "read")? = failure(raid.read(offset: 0, length: 1, on: loop)) else {
            return XCTFail("no member left")
        }
    }

    func testWriteErrorFailsTheMemberAndTheWriteSucceeds() throws {
        let (rams, wrapped) = try members(2)
        let raid = try RAID1Device(name: "m", members: wrapped)
        defer { raid.close() }
        wrapped[1].failNth(2, of: [.write])
        try writeChunks(raid, offset: 0, [pattern(4096, seed: 1)])
        try writeChunks(raid, offset: 4096, [pattern(4096, seed: 2)])  // d1 fails this one
        try writeChunks(raid, offset: 8192, [pattern(4096, seed: 3)])
        XCTAssertEqual(raid.memberStates.map(\.state), [.healthy, .failed])
        XCTAssertEqual(wrapped[1].counters.writes, 2, "no write after the failure")
        let expected = pattern(4096, seed: 1) + pattern(4096, seed: 2) + pattern(4096, seed: 3)
        XCTAssertEqual(try readBack(raid, offset: 0, length: 12288), expected)
        XCTAssertEqual(try readBack(rams[1], offset: 0, length: 4096), pattern(4096, seed: 1))
        XCTAssertEqual(try readBack(rams[1], offset: 4096, length: 4096), [UInt8](repeating: 0, count: 4096), "d1 missed it")
        // Regions written while degraded stay dirty until a resync.
        XCTAssertEqual(try raid.cleanBitmap(on: loop).wait(), 0)
        XCTAssertGreaterThan(raid.bitmap.dirtyCount, 0)
    }

    func testEveryMemberFailedIsAnErrorAndTheDeviceStaysUsable() throws {
        let (_, wrapped) = try members(2)
        let raid = try RAID1Device(name: "m", members: wrapped)
        defer { raid.close() }
        wrapped[0].failFrom(1, of: [.write])
        wrapped[1].failFrom(1, of: [.write])
        guard case .io(device: _, operation: "write", _, _, _)? = failure(raid.write(offset: 0, buffers: [ByteBuffer(bytes: [1])],
                                                                                      forceUnitAccess: false, on: loop)) else {
            return XCTFail("the last member error")
        }
        XCTAssertEqual(raid.memberStates.map(\.state), [.failed, .failed])
        guard case .noHealthyMember(device: "m", operation: "write")? = failure(raid.write(offset: 0, buffers: [ByteBuffer(bytes: [1])],
                                                                                            forceUnitAccess: false, on: loop)) else {
            return XCTFail("no member left")
        }
        guard case .noHealthyMember? = failure(raid.flush(on: loop)) else { return XCTFail("flush") }
        guard case .noHealthyMember? = failure(raid.read(offset: 0, length: 512, on: loop)) else { return XCTFail("read") }
        guard case .noHealthyMember? = failure(raid.resync(to: 0, on: loop)) else { return XCTFail("nothing to copy from") }
    }

    func testResyncAfterTheMemberReturnsWithWritesGoingOn() throws {
        // Slow members (1 ms a request): the resync is still running while the writes below arrive.
        let (rams, wrapped) = try members(2, size: 4 * mib, latency: .milliseconds(1))
        let raid = try RAID1Device(name: "m", members: wrapped, regionSize: region)
        defer { raid.close() }
        let initial = pattern(Int(4 * mib), seed: 11)
        try writeChunks(raid, offset: 0, [initial])
        XCTAssertEqual(try raid.cleanBitmap(on: loop).wait(), 64, "all in sync: every bit cleared")
        XCTAssertEqual(raid.bitmap.dirtyCount, 0)

        wrapped[1].failFrom(1, of: [.write])
        var model = initial
        // Degraded writes dirty 20 regions (every third region, a block in each).
        for r in stride(from: 0, to: 60, by: 3) {
            let bytes = pattern(4096, seed: 100 + r)
            try writeChunks(raid, offset: UInt64(r) * region + 1000, [bytes])
            model.replaceSubrange((r * Int(region) + 1000)..<(r * Int(region) + 1000 + 4096), with: bytes)
        }
        XCTAssertEqual(raid.memberStates[1].state, .failed)
        XCTAssertEqual(raid.bitmap.dirtyCount, 20)

        wrapped[1].heal()
        wrapped[1].resetCounters()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        let resync = raid.resync(to: 1, on: group.next())
        XCTAssertEqual(raid.memberStates[1].state, .resyncing)
        // Writes during the resync: into dirty regions (some being copied) and clean ones.
        var writes: [EventLoopFuture<Void>] = []
        for i in 0..<64 {
            let r = (i * 7) % 64
            let offset = r * Int(region) + (i % 8) * 8192
            let bytes = pattern(8192, seed: 500 + i)
            model.replaceSubrange(offset..<(offset + 8192), with: bytes)
            let l = group.next()
            writes.append(l.flatSubmit { raid.write(offset: UInt64(offset), buffers: [ByteBuffer(bytes: bytes)], forceUnitAccess: false, on: l) })
            if i % 8 == 0 { try writes.last!.wait() }
        }
        for w in writes { try w.wait() }
        let result = try resync.wait()
        XCTAssertEqual(result.member, "d1")
        XCTAssertEqual(result.source, "d0")
        XCTAssertEqual(result.regions, 20)
        XCTAssertEqual(result.bytes, 20 * region, "only the dirty regions were copied")
        XCTAssertEqual(wrapped[1].counters.bytesWritten, 20 * region + 64 * 8192, "copies plus the new writes")
        XCTAssertEqual(raid.memberStates.map(\.state), [.healthy, .healthy])
        XCTAssertEqual(raid.memberStates[1].resyncProgress, 1)
        XCTAssertEqual(try contents(rams[0]), model)
        XCTAssertEqual(try contents(rams[1]), model, "no write lost during the resync")
        // In sync again: the cleaner may clear every bit.
        let dirty = raid.bitmap.dirtyCount
        XCTAssertEqual(dirty, 64)
        XCTAssertEqual(try raid.cleanBitmap(on: loop).wait(), dirty)
        XCTAssertEqual(raid.bitmap.dirtyCount, 0)
    }

    func testWritesDuringACopyWaitForIt() throws {
        // A slow source keeps each region locked for a while; writes hammer those regions.
        let rams = try (0..<2).map { try RAMDevice(name: "d\($0)", size: mib) }
        let source = FaultInjectingDevice(wrapping: rams[0], latency: .milliseconds(2))
        let target = FaultInjectingDevice(wrapping: rams[1])
        let raid = try RAID1Device(name: "m", members: [source, target], regionSize: region)
        defer { raid.close() }
        raid.failMember(1, reason: "test", on: loop)
        // Make the target differ everywhere, and every region dirty, as after a replacement.
        try writeChunks(rams[1], offset: 0, [[UInt8](repeating: 0xaa, count: Int(mib))])
        try raid.bitmap.markAllDirty(on: loop).wait()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        defer { try? group.syncShutdownGracefully() }
        let resync = raid.resync(to: 1, on: group.next())
        var model = [UInt8](repeating: 0, count: Int(mib))
        var futures: [EventLoopFuture<Void>] = []
        var rng = SplitMix64(state: 3)
        for i in 0..<200 {
            // Distinct 4 KiB blocks so the final contents do not depend on completion order.
            let block = (i * 37) % 256
            let bytes = pattern(4096, seed: 900 + i)
            model.replaceSubrange((block * 4096)..<((block + 1) * 4096), with: bytes)
            let l = group.next()
            futures.append(l.flatSubmit { raid.write(offset: UInt64(block) * 4096, buffers: [ByteBuffer(bytes: bytes)], forceUnitAccess: false, on: l) })
            if rng.below(10) == 0 { _ = try? futures.last!.wait() }
        }
        for f in futures { try f.wait() }
        XCTAssertEqual(try resync.wait().regions, 16)
        XCTAssertEqual(try contents(rams[0]), model)
        XCTAssertEqual(try contents(rams[1]), model)
    }

    func testResyncFailsWhenTheMemberFailsAgain() throws {
        let (_, wrapped) = try members(2)
        let raid = try RAID1Device(name: "m", members: wrapped, regionSize: region)
        defer { raid.close() }
        wrapped[1].failFrom(1, of: [.write])
        try writeChunks(raid, offset: 0, [pattern(300_000, seed: 1)])
        XCTAssertEqual(raid.memberStates[1].state, .failed)
        XCTAssertNotNil(failure(raid.resync(to: 1, on: loop)))
        XCTAssertEqual(raid.memberStates[1].state, .failed)
        XCTAssertEqual(raid.memberStates[0].state, .healthy)
        wrapped[1].heal()
        XCTAssertEqual(try raid.resync(to: 1, on: loop).wait().bytes, 5 * region)
        XCTAssertEqual(raid.memberStates[1].state, .healthy)
    }

    func testReplaceMemberCopiesEverything() throws {
        let (rams, wrapped) = try members(2)
        let raid = try RAID1Device(name: "m", members: wrapped, regionSize: region)
        defer { raid.close() }
        let data = pattern(Int(mib), seed: 6)
        try writeChunks(raid, offset: 0, [data])
        _ = try raid.cleanBitmap(on: loop).wait()
        wrapped[1].failNth(1, of: [.read, .write])
        try writeChunks(raid, offset: 0, [[1, 2, 3]])
        XCTAssertEqual(raid.memberStates[1].state, .failed)
        let fresh = try RAMDevice(name: "d1", size: mib)
        guard case .combination? = failure(raid.replaceMember(0, with: fresh, on: loop)) else { return XCTFail("d0 is healthy") }
        _ = try raid.replaceMember(1, with: fresh, on: loop).wait()
        XCTAssertEqual(raid.memberStates[1].state, .resyncing)
        let results = try raid.resyncStale(on: loop).wait()
        XCTAssertEqual(results.map(\.bytes), [mib])
        XCTAssertTrue(raid.members[1] === fresh)
        XCTAssertEqual(try contents(fresh), try contents(rams[0]))
    }

    func testAddMemberCopiesEverythingWhileWritesGoOn() throws {
        let (rams, wrapped) = try members(2)
        let raid = try RAID1Device(name: "m", members: wrapped, regionSize: region)
        defer { raid.close() }
        try writeChunks(raid, offset: 0, [pattern(Int(mib), seed: 7)])
        _ = try raid.cleanBitmap(on: loop).wait()
        let fresh = try RAMDevice(name: "d2", size: mib)
        try raid.addMember(fresh, on: loop).wait()
        XCTAssertEqual(raid.memberStates.map(\.name), ["d0", "d1", "d2"])
        XCTAssertEqual(raid.memberStates[2].state, .resyncing)
        // A write while the new member waits reaches it too; the cleaner leaves the bits.
        try writeChunks(raid, offset: 4096, [pattern(8192, seed: 8)])
        XCTAssertEqual(try raid.cleanBitmap(on: loop).wait(), 0, "no bit may be cleared while a member is stale")
        let results = try raid.resyncStale(on: loop).wait()
        XCTAssertEqual(results.map(\.member), ["d2"])
        XCTAssertEqual(raid.memberStates.map(\.state), [.healthy, .healthy, .healthy])
        XCTAssertEqual(try contents(fresh), try contents(rams[0]))
        guard case .combination? = failure(raid.addMember(fresh, on: loop)) else { return XCTFail("added twice") }
    }

    func testRemoveMemberStopsItsWritesAndKeepsOneHealthy() throws {
        let (rams, wrapped) = try members(3)
        let raid = try RAID1Device(name: "m", members: wrapped, regionSize: region)
        defer { raid.close() }
        try writeChunks(raid, offset: 0, [pattern(65536, seed: 9)])
        let removed = try raid.removeMember(named: "d1", on: loop).wait()
        XCTAssertTrue(removed === wrapped[1])
        XCTAssertTrue(raid.isIdle(removed))
        XCTAssertEqual(raid.memberStates.map(\.name), ["d0", "d2"])
        XCTAssertNil(raid.memberIndex(named: "d1"))
        let before = try contents(rams[1])
        try writeChunks(raid, offset: 0, [pattern(65536, seed: 10)])
        XCTAssertEqual(try contents(rams[1]), before, "a removed member got a write")
        XCTAssertEqual(try contents(rams[0]), try contents(rams[2]))
        XCTAssertEqual(try raid.cleanBitmap(on: loop).wait() >= 0, true)
        _ = try raid.removeMember(named: "d0", on: loop).wait()
        guard case .combination? = failure(raid.removeMember(named: "d2", on: loop)) else {
            return XCTFail("the last healthy member was removed")
        }
        XCTAssertEqual(raid.memberStates.map(\.state), [.healthy])
    }

    func testFlushFailureFailsTheMemberNotTheFlush() throws {
        let (_, wrapped) = try members(2)
        let raid = try RAID1Device(name: "m", members: wrapped)
        defer { raid.close() }
        wrapped[0].failNth(1, of: [.flush])
        try raid.flush(on: loop).wait()
        XCTAssertEqual(raid.memberStates.map(\.state), [.failed, .healthy])
    }

    func testNestedMirrorOfStripes() throws {
        let rams = try (0..<4).map { try RAMDevice(name: "r\($0)", size: 256 * 1024) }
        let wrapped = rams.map { FaultInjectingDevice(wrapping: $0) }
        let left = try RAID0Device(name: "left", members: [wrapped[0], wrapped[1]], chunk: 4096)
        let right = try RAID0Device(name: "right", members: [wrapped[2], wrapped[3]], chunk: 8192)
        let mirror = try RAID1Device(name: "mirror", members: [left, right])
        defer { mirror.close() }
        XCTAssertEqual(mirror.size, 512 * 1024)
        let data = pattern(512 * 1024, seed: 8)
        try writeChunks(mirror, offset: 0, [data])
        XCTAssertEqual(try contents(left), data)
        XCTAssertEqual(try contents(right), data)
        // Chunk 3 of the left stripe is on r1 at 4096; chunk 3 of the right one on r3 at 8192.
        XCTAssertEqual(try readBack(rams[1], offset: 4096, length: 4096), Array(data[(3 * 4096)..<(4 * 4096)]))
        XCTAssertEqual(try readBack(rams[3], offset: 8192, length: 8192), Array(data[(3 * 8192)..<(4 * 8192)]))
        // A disk inside one stripe dies: the mirror drops that stripe and keeps serving.
        wrapped[1].failFrom(1)
        for i in 0..<16 {
            XCTAssertEqual(try readBack(mirror, offset: UInt64(i) * 32768, length: 32768), Array(data[(i * 32768)..<((i + 1) * 32768)]))
        }
        try writeChunks(mirror, offset: 0, [[7, 7, 7]])
        XCTAssertEqual(mirror.memberStates.map(\.state), [.failed, .healthy])
        XCTAssertEqual(try readBack(mirror, offset: 0, length: 3), [7, 7, 7])
        wrapped[1].heal()
        XCTAssertEqual(try mirror.resync(to: 0, on: loop).wait().source, "right")
        XCTAssertEqual(try contents(left), try contents(right))
        XCTAssertEqual(mirror.memberStates.map(\.state), [.healthy, .healthy])
    }

    func testCleanerClearsTheBitmapByItselfOnceInSync() throws {
        let (_, wrapped) = try members(2)
        let raid = try RAID1Device(name: "m", members: wrapped, regionSize: region, cleanDelay: .milliseconds(20))
        defer { raid.close() }
        try writeChunks(raid, offset: 0, [pattern(200_000, seed: 1)])
        XCTAssertEqual(raid.bitmap.dirtyCount, 4)
        let deadline = NIODeadline.now() + .seconds(5)
        while raid.bitmap.dirtyCount > 0 && NIODeadline.now() < deadline { usleep(10_000) }
        XCTAssertEqual(raid.bitmap.dirtyCount, 0)
        XCTAssertEqual(wrapped.map(\.counters.flushes), [1, 1], "flushed before the bits were cleared")
        // Degraded: the bits stay until a resync.
        raid.failMember(1, reason: "test", on: loop)
        try writeChunks(raid, offset: 0, [[1]])
        usleep(100_000)
        XCTAssertEqual(raid.bitmap.dirtyRegions, [0])
    }

    func testMemberStatusText() {
        XCTAssertEqual(MemberStatus(name: "a", state: .healthy, reason: "", resyncProgress: 1).description, "a: healthy")
        XCTAssertEqual(MemberStatus(name: "a", state: .resyncing, reason: "", resyncProgress: 0.425).description, "a: resyncing 42%")
        XCTAssertEqual(MemberStatus(name: "a", state: .failed, reason: "EIO", resyncProgress: 0).description, "a: failed (EIO)")
    }
}
