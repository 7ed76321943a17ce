import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import Storage
import StorageTestSupport
import XCTest

/// The write-intent bitmap and the member health file across re-opens.
final class MirrorPersistenceTests: StorageTestCase {
    let mib: UInt64 = 1 << 20
    let region: UInt64 = 64 * 1024

    func health(_ initialSync: MirrorHealth.InitialSync = .assumeInSync) -> MirrorHealth {
        MirrorHealth(directory: directory, combination: "mirror", regionSize: region, initialSync: initialSync)
    }

    /// The disks of one run: closing the mirror leaves the RAM disks for the next run.
    func disks(_ rams: [RAMDevice]) -> [FaultInjectingDevice] {
        rams.map { FaultInjectingDevice(wrapping: $0, closesWrapped: false) }
    }

    func contents(_ device: BlockDevice) throws -> [UInt8] {
        try readBack(device, offset: 0, length: Int(device.size))
    }

    // MARK: bitmap file

    func testBitmapBitsSurviveReopen() throws {
        let p = path("b.bitmap")
        let bitmap = try WriteIntentBitmap(path: p, deviceSize: mib, regionSize: region)
        XCTAssertEqual(bitmap.origin, .created)
        XCTAssertEqual(bitmap.regionCount, 16)
        XCTAssertEqual(bitmap.regions(offset: 65535, length: 2), 0..<2)
        XCTAssertEqual(bitmap.regions(offset: 65536, length: 65536), 1..<2)
        try bitmap.markDirty(3..<5, on: loop).wait()
        try bitmap.markDirty(15..<16, on: loop).wait()
        // Durable before close: a second opener (a restart after a crash) sees the bits.
        let again = try WriteIntentBitmap(path: p, deviceSize: mib, regionSize: region)
        XCTAssertEqual(again.origin, .loaded)
        XCTAssertEqual(again.dirtyRegions, [3, 4, 15])
        again.close()
        bitmap.clear([4])
        try bitmap.sync(on: loop).wait()
        bitmap.close()
        let third = try WriteIntentBitmap(path: p, deviceSize: mib, regionSize: region)
        XCTAssertEqual(third.dirtyRegions, [3, 15])
        // The documented layout: header magic, then bit r of byte 4096 + r/8.
        let raw = preadFile(p, offset: 0, length: 4096 + 2)
        XCTAssertEqual(Array(raw[0..<8]), Array("TARGEWIB".utf8))
        XCTAssertEqual(raw[8], 1)
        XCTAssertEqual(raw[4096], 0b0000_1000)
        XCTAssertEqual(raw[4097], 0b1000_0000)
        third.close()
    }

    func testBitmapConvertsRegionSizesAndResetsOnAnotherDeviceSize() throws {
        let p = path("c.bitmap")
        let bitmap = try WriteIntentBitmap(path: p, deviceSize: mib, regionSize: region)
        try bitmap.markDirty(2..<3, on: loop).wait()
        bitmap.close()
        let finer = try WriteIntentBitmap(path: p, deviceSize: mib, regionSize: region / 4)
        XCTAssertEqual(finer.origin, .converted(fromRegionSize: region))
        XCTAssertEqual(finer.dirtyRegions, [8, 9, 10, 11])
        finer.close()
        let bigger = try WriteIntentBitmap(path: p, deviceSize: 2 * mib, regionSize: region)
        guard case .reset = bigger.origin else { return XCTFail("expected a reset, got \(bigger.origin)") }
        XCTAssertEqual(bigger.dirtyCount, 32)
        bigger.close()
    }

    func testForeignFileIsRefused() throws {
        let p = try makeFile("foreign.bitmap", size: 8192, byte: 0x41)
        XCTAssertThrowsError(try WriteIntentBitmap(path: p, deviceSize: mib, regionSize: region)) { error in
            guard case .stateFile(path: p, _)? = error as? StorageError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(preadFile(p, offset: 0, length: 4), [0x41, 0x41, 0x41, 0x41], "left alone")
    }

    // MARK: health file

    func testHealthFileSurvivesATornSlot() throws {
        let p = path("h.health")
        let file = try MirrorHealthFile(path: p)
        XCTAssertNil(file.loaded)
        let first = [MirrorHealthFile.Record(name: "a", state: .healthy, order: 0, reason: ""),
                     MirrorHealthFile.Record(name: "b", state: .failed, order: 1, reason: "device b: read failed\nbadly")]
        try file.save(first, on: loop).wait()
        var second = first
        second[1].state = .resyncing
        try file.save(second, on: loop).wait()
        file.close()
        let text = String(decoding: preadFile(p, offset: 0, length: 200).prefix { $0 != 0 }, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("targe-mirror-health 1\nsequence 2\nmember a healthy 0 \nmember b resyncing 1 device b: read failed badly\nend "), text)
        var loaded = second
        loaded[1].reason = "device b: read failed badly"
        XCTAssertEqual(try MirrorHealthFile(path: p).loaded, loaded)
        // Tear the newest slot (sequence 2 lives in slot 0): the older one is used.
        let fd = open(p, O_WRONLY)
        XCTAssertEqual(pwrite(fd, "garbage", 7, 30), 7)
        close(fd)
        loaded[1].state = .failed
        XCTAssertEqual(try MirrorHealthFile(path: p).loaded, loaded)
    }

    // MARK: the mirror across restarts

    func testCrashResyncsOnlyDirtyRegions() throws {
        let rams = try (0..<2).map { try RAMDevice(name: "d\($0)", size: mib) }
        let data = pattern(Int(mib), seed: 1)
        let first = try RAID1Device(name: "mirror", members: disks(rams), health: health(), cleanDelay: .hours(1))
        try writeChunks(first, offset: 0, [data])
        XCTAssertEqual(try first.cleanBitmap(on: loop).wait(), 16)
        try writeChunks(first, offset: 2 * region + 5, [[1, 2, 3]])
        try writeChunks(first, offset: 9 * region - 2, [[4, 5, 6, 7]])  // regions 8 and 9
        XCTAssertEqual(first.bitmap.dirtyRegions, [2, 8, 9])
        // "Crash" here: the first mirror never closes; a write reached d0 only.
        try writeChunks(rams[0], offset: 9 * region + 100, [[0xde, 0xad]])
        let expected = try contents(rams[0])
        withExtendedLifetime(first) {
            do {
                let wrapped = disks(rams)
                let notices = NIOLockedValueBox<[String]>([])
                let second = try RAID1Device(name: "mirror", members: wrapped, health: health(), onNotice: { text in
                    notices.withLockedValue { $0.append(text) }
                })
                XCTAssertEqual(second.memberStates.map(\.state), [.healthy, .resyncing])
                XCTAssertTrue(second.memberStates[1].reason.contains("unclean shutdown"), second.memberStates[1].reason)
                XCTAssertTrue(notices.withLockedValue { $0 }.contains { $0.contains("unclean shutdown") })
                // Reads come from d0 only until the copy is done.
                _ = try readBack(second, offset: 0, length: 4096)
                XCTAssertEqual(wrapped.map(\.counters.reads), [1, 0])
                let results = try second.resyncStale(on: loop).wait()
                XCTAssertEqual(results.map(\.regions), [3])
                XCTAssertEqual(wrapped[1].counters.bytesWritten, 3 * region, "only the dirty regions were copied")
                XCTAssertEqual(try contents(rams[1]), expected)
                XCTAssertEqual(second.memberStates.map(\.state), [.healthy, .healthy])
            } catch {
                XCTFail("\(error)")
            }
        }
    }

    func testFailedMemberIsRememberedAndResyncedFromTheBitmap() throws {
        let rams = try (0..<2).map { try RAMDevice(name: "d\($0)", size: mib) }
        do {
            let wrapped = disks(rams)
            let mirror = try RAID1Device(name: "mirror", members: wrapped, health: health())
            try writeChunks(mirror, offset: 0, [pattern(Int(mib), seed: 2)])
            _ = try mirror.cleanBitmap(on: loop).wait()
            wrapped[0].failFrom(1, of: [.write])
            try writeChunks(mirror, offset: 4 * region, [pattern(4096, seed: 3)])
            try writeChunks(mirror, offset: 12 * region, [pattern(4096, seed: 4)])
            XCTAssertEqual(mirror.memberStates.map(\.state), [.failed, .healthy])
            // Recorded before the degraded write was acknowledged.
            let text = String(decoding: preadFile(path("mirror.health"), offset: 0, length: 16384).filter { $0 != 0 }, as: UTF8.self)
            XCTAssertTrue(text.contains("member d0 failed 1 device d0: write"), text)
            mirror.close()
        }
        // Restart: d0 is back (no faults) but stale; the bitmap says which regions it missed.
        let wrapped = disks(rams)
        let mirror = try RAID1Device(name: "mirror", members: wrapped, health: health())
        XCTAssertEqual(mirror.memberStates.map(\.state), [.resyncing, .healthy])
        XCTAssertTrue(mirror.memberStates[0].reason.hasPrefix("stale (failed before restart"), mirror.memberStates[0].reason)
        XCTAssertEqual(mirror.bitmap.dirtyRegions, [4, 12])
        let results = try mirror.resyncStale(on: loop).wait()
        XCTAssertEqual(results, [RAID1Device.ResyncResult(member: "d0", source: "d1", regions: 2, bytes: 2 * region)])
        XCTAssertEqual(wrapped[0].counters.bytesWritten, 2 * region)
        XCTAssertEqual(try contents(rams[0]), try contents(rams[1]))
        mirror.close()
        // A clean stop with every member healthy clears the bitmap: the next start copies nothing.
        let clean = try RAID1Device(name: "mirror", members: disks(rams), health: health())
        XCTAssertEqual(clean.memberStates.map(\.state), [.healthy, .healthy])
        XCTAssertEqual(clean.bitmap.dirtyCount, 0)
        clean.close()
    }

    func testNewMirrorCopiesTheFirstMember() throws {
        let rams = try (0..<3).map { try RAMDevice(name: "d\($0)", size: mib) }
        try writeChunks(rams[0], offset: 0, [pattern(Int(mib), seed: 5)])
        try writeChunks(rams[2], offset: 0, [[UInt8](repeating: 0x77, count: Int(mib))])
        let mirror = try RAID1Device(name: "mirror", members: rams, health: health(.copyFirstMember))
        defer { mirror.close() }
        XCTAssertEqual(mirror.memberStates.map(\.state), [.healthy, .resyncing, .resyncing])
        XCTAssertEqual(mirror.memberStates[1].resyncProgress, 0)
        let results = try mirror.resyncStale(on: loop).wait()
        XCTAssertEqual(results.map(\.bytes), [mib, mib])
        XCTAssertEqual(try contents(rams[1]), try contents(rams[0]))
        XCTAssertEqual(try contents(rams[2]), try contents(rams[0]))
    }

    func testEveryMemberFailedServesFromTheLastToFail() throws {
        let rams = try (0..<2).map { try RAMDevice(name: "d\($0)", size: mib) }
        do {
            let wrapped = disks(rams)
            let mirror = try RAID1Device(name: "mirror", members: wrapped, health: health())
            wrapped[1].failFrom(1, of: [.write])
            try writeChunks(mirror, offset: 0, [[1]])
            wrapped[0].failFrom(1, of: [.write])
            XCTAssertNotNil(failure(mirror.write(offset: 0, buffers: [ByteBuffer(bytes: [2])], forceUnitAccess: false, on: loop)))
            XCTAssertEqual(mirror.memberStates.map(\.state), [.failed, .failed])
            mirror.close()
        }
        let mirror = try RAID1Device(name: "mirror", members: disks(rams), health: health())
        defer { mirror.close() }
        XCTAssertEqual(mirror.memberStates.map(\.state), [.healthy, .resyncing], "d0 failed last")
        XCTAssertEqual(try readBack(mirror, offset: 0, length: 1), [1])
    }

    func testMissingBitmapWithAKnownMirrorCopiesEverything() throws {
        let rams = try (0..<2).map { try RAMDevice(name: "d\($0)", size: mib) }
        let mirror = try RAID1Device(name: "mirror", members: disks(rams), health: health())
        mirror.close()
        XCTAssertEqual(unlink(path("mirror.bitmap")), 0)
        let again = try RAID1Device(name: "mirror", members: disks(rams), health: health())
        defer { again.close() }
        XCTAssertEqual(again.bitmap.dirtyCount, 16)
        XCTAssertEqual(again.memberStates.map(\.state), [.healthy, .resyncing])
    }

    func testBitmapIsDurableBeforeTheWriteIsIssued() throws {
        let ram0 = try RAMDevice(name: "d0", size: mib)
        let ram1 = try RAMDevice(name: "d1", size: mib)
        let bitmapPath = path("mirror.bitmap")
        /// Checks, at each write a member sees, that the bitmap file already has the bit.
        final class Watcher: BlockDevice, @unchecked Sendable {
            let inner: BlockDevice
            let check: @Sendable (UInt64) -> Void
            init(_ inner: BlockDevice, check: @escaping @Sendable (UInt64) -> Void) { self.inner = inner; self.check = check }
            var name: String { inner.name }
            var size: UInt64 { inner.size }
            var hasVolatileCache: Bool { false }
            func read(offset: UInt64, length: Int, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> { inner.read(offset: offset, length: length, on: eventLoop) }
            func write(offset: UInt64, buffers: [ByteBuffer], forceUnitAccess: Bool, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
                check(offset)
                return inner.write(offset: offset, buffers: buffers, forceUnitAccess: forceUnitAccess, on: eventLoop)
            }
            func flush(on eventLoop: EventLoop) -> EventLoopFuture<Void> { inner.flush(on: eventLoop) }
            func close() { inner.close() }
        }
        let seen = NIOLockedValueBox<[Bool]>([])
        let region = self.region
        let watcher = Watcher(ram1) { offset in
            let r = Int(offset / region)
            let fd = open(bitmapPath, O_RDONLY)
            var byte: UInt8 = 0
            _ = pread(fd, &byte, 1, off_t(4096 + r / 8))
            close(fd)
            seen.withLockedValue { $0.append(byte & (1 << UInt8(r % 8)) != 0) }
        }
        let mirror = try RAID1Device(name: "mirror", members: [ram0, watcher], health: health())
        defer { mirror.close() }
        for r in [1, 5, 5, 9] { try writeChunks(mirror, offset: UInt64(r) * region, [[1]]) }
        XCTAssertEqual(seen.withLockedValue { $0 }, [true, true, true, true])
    }
}
