import Foundation
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import Storage
import XCTest

/// The aio engine on regular files. tmpfs accepts O_DIRECT silently and would hide
/// alignment bugs, so these tests run in a directory on a disk file system (/tmp here is
/// ext4; elsewhere /var/tmp or the working directory) and skip when there is none.
final class AIOFileDeviceTests: StorageTestCase {
    private let kib = 1024
    private var engine: AIOEngine!

    override func setUpWithError() throws {
        try super.setUpWithError()
        engine = AIOEngine()
        if Self.isMemoryFileSystem(directory) {
            try? FileManager.default.removeItem(atPath: directory)
            directory = ""
            for parent in ["/var/tmp", FileManager.default.currentDirectoryPath] where !Self.isMemoryFileSystem(parent) {
                var template = Array("\(parent)/targe-aio-XXXXXX".utf8CString)
                if template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil {
                    directory = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                    break
                }
            }
            if directory.isEmpty { throw XCTSkip("no disk file system for O_DIRECT tests") }
        }
    }

    override func tearDownWithError() throws {
        engine.shutdown()
        try super.tearDownWithError()
    }

    static func isMemoryFileSystem(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return DeviceOpener.isOnMemoryFileSystem(fd)
    }

    private func aioSpec(_ name: String, _ path: String, offset: UInt64 = 0, size: UInt64? = nil, create: Bool = false) -> DeviceSpec {
        DeviceSpec(name: name, source: .path(path), offset: offset, size: size, create: create, engine: .aio)
    }

    private func openAIO(_ spec: DeviceSpec) throws -> AIOFileDevice {
        let device = try DeviceOpener.open(spec, aioEngine: engine)
        guard let aio = device as? AIOFileDevice else {
            device.close()
            throw XCTSkip("expected an AIOFileDevice, got \(type(of: device))")
        }
        return aio
    }

    private func aioError(_ spec: DeviceSpec, engine: AIOEngine? = nil) -> StorageError? {
        do {
            try DeviceOpener.open(spec, aioEngine: engine ?? self.engine).close()
            return nil
        } catch {
            return error
        }
    }

    /// Writes `bytes` at `offset` through the device, in `pieces` buffers.
    private func write(_ device: BlockDevice, _ offset: Int, _ bytes: [UInt8], pieces: Int = 1, fua: Bool = false, on loop: EventLoop? = nil) -> EventLoopFuture<Void> {
        var buffers: [ByteBuffer] = []
        let step = max(1, (bytes.count + pieces - 1) / pieces)
        var i = 0
        while i < bytes.count {
            buffers.append(ByteBuffer(bytes: bytes[i..<min(bytes.count, i + step)]))
            i += step
        }
        return device.write(offset: UInt64(offset), buffers: buffers, forceUnitAccess: fua, on: loop ?? self.loop)
    }

    // MARK: opening

    func testOpensWithODirectAndReportsItsGeometry() throws {
        let p = try makeFile("a.img", size: 256 * kib, byte: 0x11)
        let device = try openAIO(aioSpec("a", p))
        defer { device.close() }
        XCTAssertEqual(device.name, "a")
        XCTAssertEqual(device.size, UInt64(256 * kib))
        XCTAssertEqual(device.alignment, 4096)
        XCTAssertTrue(device.hasVolatileCache, "file metadata and the disk's cache are volatile until fdatasync")
        XCTAssertEqual(try readBack(device, offset: 0, length: 4096), [UInt8](repeating: 0x11, count: 4096))
    }

    func testCreateMakesTheFileForAIO() throws {
        let p = path("new.img")
        let device = try openAIO(aioSpec("n", p, size: UInt64(1 << 20), create: true))
        defer { device.close() }
        XCTAssertEqual(fileStat(p).st_size, 1 << 20)
        try write(device, 4096 * 3 + 512, pattern(1024, seed: 1)).wait()
        XCTAssertEqual(preadFile(p, offset: 4096 * 3 + 512, length: 1024), pattern(1024, seed: 1))
    }

    func testAutomaticEngineKeepsRegularFilesBuffered() throws {
        let p = try makeFile("auto.img", size: 64 * kib)
        var spec = DeviceSpec(name: "auto", source: .path(p))
        spec.engine = .automatic
        let device = try DeviceOpener.open(spec, aioEngine: engine)
        defer { device.close() }
        XCTAssertTrue(device is BufferedFileDevice)
        XCTAssertEqual(DeviceSpec(name: "x", source: .path(p)).engine, .buffered, "the default keeps the buffered engine")
    }

    func testAIOWithoutAnEngineIsAClearError() throws {
        let p = try makeFile("noengine.img", size: 64 * kib)
        do {
            try DeviceOpener.open(aioSpec("ne", p)).close()
            XCTFail("expected an error")
        } catch {
            guard case .engineUnsupported("ne", "aio", _) = error else { return XCTFail("\(error)") }
        }
    }

    func testDirectoryIsRefused() {
        let error = aioError(aioSpec("d", directory))
        switch error {
        case .open?, .notARegularFileOrBlockDevice?: break
        default: XCTFail("unexpected \(String(describing: error))")
        }
    }

    func testTmpfsIsRefusedWithAClearError() throws {
        let shm = "/dev/shm"
        guard Self.isMemoryFileSystem(shm), access(shm, W_OK) == 0 else { throw XCTSkip("no writable tmpfs at /dev/shm") }
        let p = "\(shm)/targe-aio-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).img"
        defer { unlink(p) }
        let error = aioError(aioSpec("shm", p, size: UInt64(64 * kib), create: true))
        guard case let .engineUnsupported(device, engine, problem)? = error else {
            return XCTFail("expected engineUnsupported, got \(String(describing: error))")
        }
        XCTAssertEqual(device, "shm")
        XCTAssertEqual(engine, "aio")
        XCTAssertTrue(problem.contains("O_DIRECT is not supported on \(p)"), problem)
        XCTAssertTrue(problem.contains("tmpfs"), problem)
        XCTAssertTrue("\(error!)".contains("use engine buffered"))
    }

    func testFileEndingInsideAnAlignedBlockIsRefused() throws {
        let p = try makeFile("odd.img", size: 4096 + 1024)
        guard case let .engineUnsupported(_, _, problem)? = aioError(aioSpec("odd", p)) else {
            return XCTFail("expected engineUnsupported")
        }
        XCTAssertTrue(problem.contains("4096"), problem)
        XCTAssertEqual(fileStat(p).st_size, 4096 + 1024, "file untouched")
        // A slice that stays within whole blocks is fine.
        let device = try openAIO(aioSpec("odd", p, size: 4096))
        device.close()
    }

    // MARK: data

    func testRoundTripsOfManySizesAndOffsetsMatchTheFile() throws {
        let size = 1 << 20
        let p = try makeFile("rt.img", size: size, byte: 0)
        let device = try openAIO(aioSpec("rt", p))
        defer { device.close() }
        var model = [UInt8](repeating: 0, count: size)
        // (offset, length, buffers): aligned, 512-byte sectors inside one block, straddling
        // blocks, spanning many blocks with partial ends, the very start and end.
        let cases: [(Int, Int, Int)] = [
            (0, 4096, 1), (4096, 8192, 2), (512, 512, 1), (3584, 1024, 1), (4096 + 1024, 512 * 5, 3),
            (8192 - 512, 512 * 17, 4), (65536, 131072, 7), (100 * 512, 37 * 512, 5), (size - 512, 512, 1),
            (size - 4096 * 3 - 512, 4096 * 3 + 512, 2), (0, 512, 1), (12345 * 8, 1000, 3), (7, 1, 1),
        ]
        for (i, (offset, length, pieces)) in cases.enumerated() {
            let data = pattern(length, seed: i + 1)
            try write(device, offset, data, pieces: pieces).wait()
            model.replaceSubrange(offset..<offset + length, with: data)
            XCTAssertEqual(try readBack(device, offset: UInt64(offset), length: length), data, "case \(i)")
            XCTAssertEqual(preadFile(p, offset: offset, length: length), data, "case \(i) on disk")
        }
        // Reads of arbitrary ranges agree with the model and with pread of the file.
        for (offset, length) in [(0, size), (511, 2), (4095, 4098), (333, 7777), (size - 1, 1)] {
            XCTAssertEqual(try readBack(device, offset: UInt64(offset), length: length), Array(model[offset..<offset + length]))
        }
        XCTAssertEqual(preadFile(p, offset: 0, length: size), model)
    }

    func testSliceWithAnUnalignedStartMapsIntoTheFile() throws {
        let p = try makeFile("slice.img", size: 64 * kib, byte: 0xee)
        let device = try openAIO(aioSpec("s", p, offset: 512 * 3, size: UInt64(32 * kib)))
        defer { device.close() }
        XCTAssertEqual(device.size, UInt64(32 * kib))
        try write(device, 0, pattern(4096, seed: 9)).wait()
        XCTAssertEqual(preadFile(p, offset: 1536, length: 4096), pattern(4096, seed: 9))
        XCTAssertEqual(preadFile(p, offset: 0, length: 1536), [UInt8](repeating: 0xee, count: 1536), "bytes before the slice kept")
        XCTAssertEqual(preadFile(p, offset: 1536 + 4096, length: 2560), [UInt8](repeating: 0xee, count: 2560), "rest of the block kept")
        XCTAssertEqual(try readBack(device, offset: 0, length: 4096), pattern(4096, seed: 9))
    }

    func testConcurrentPartialWritesToOneBlockAllLand() throws {
        // Eight sectors of one 4096-byte block written at once from two loops: each is a
        // read-modify-write of the same block, which must not undo the others.
        let group2 = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group2.syncShutdownGracefully() }
        let p = try makeFile("rmw.img", size: 64 * kib, byte: 0)
        let device = try openAIO(aioSpec("rmw", p))
        defer { device.close() }
        for round in 0..<20 {
            let futures = (0..<8).map { sector in
                write(device, 4096 + sector * 512, pattern(512, seed: round * 8 + sector), on: group2.next())
            }
            for future in futures { try future.wait() }
            for sector in 0..<8 {
                XCTAssertEqual(preadFile(p, offset: 4096 + sector * 512, length: 512), pattern(512, seed: round * 8 + sector),
                               "round \(round) sector \(sector)")
            }
        }
        XCTAssertEqual(preadFile(p, offset: 0, length: 4096), [UInt8](repeating: 0, count: 4096))
        XCTAssertEqual(preadFile(p, offset: 8192, length: 4096), [UInt8](repeating: 0, count: 4096))
        XCTAssertEqual(engine.rangeLock(for: .init(device: UInt64(fileStat(p).st_dev), inode: UInt64(fileStat(p).st_ino))).counts.held, 0)
    }

    func testAdjacentSlicesOfOneFileShareTheirBoundaryBlock() throws {
        let p = try makeFile("adj.img", size: 16 * kib, byte: 0)
        let left = try openAIO(aioSpec("left", p, offset: 0, size: 2048))
        let right = try openAIO(aioSpec("right", p, offset: 2048, size: 6144))
        defer { left.close(); right.close() }
        let group2 = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group2.syncShutdownGracefully() }
        for round in 0..<20 {
            let a = write(left, 1536, pattern(512, seed: round), on: group2.next())
            let b = write(right, 0, pattern(512, seed: round + 100), on: group2.next())
            try a.wait()
            try b.wait()
            XCTAssertEqual(preadFile(p, offset: 1536, length: 1024), pattern(512, seed: round) + pattern(512, seed: round + 100))
        }
    }

    func testAlignedBuffersAreWrittenWithoutACopy() throws {
        let p = try makeFile("zc.img", size: 256 * kib, byte: 0)
        let device = try openAIO(aioSpec("zc", p))
        defer { device.close() }
        try write(device, 0, pattern(16384, seed: 3)).wait()
        // A read of an aligned range hands back aligned memory, which a write can use as is
        // (one buffer, then several: pwrite and pwritev).
        let whole = try device.read(offset: 0, length: 16384, on: loop).wait()
        whole.withUnsafeReadableBytes { XCTAssertEqual(Int(bitPattern: $0.baseAddress) % 4096, 0) }
        try device.write(offset: 65536, buffers: [whole], forceUnitAccess: false, on: loop).wait()
        let parts = [whole.getSlice(at: whole.readerIndex, length: 4096)!, whole.getSlice(at: whole.readerIndex + 4096, length: 12288)!]
        try device.write(offset: 131072, buffers: parts, forceUnitAccess: true, on: loop).wait()
        XCTAssertEqual(preadFile(p, offset: 65536, length: 16384), pattern(16384, seed: 3))
        XCTAssertEqual(preadFile(p, offset: 131072, length: 16384), pattern(16384, seed: 3))
        // The read buffer is a view of exactly the bytes asked for, also when unaligned.
        let odd = try device.read(offset: 100, length: 300, on: loop).wait()
        XCTAssertEqual(odd.readableBytes, 300)
        XCTAssertEqual(odd.getBytes(at: odd.readerIndex, length: 300), Array(pattern(16384, seed: 3)[100..<400]))
    }

    func testForceUnitAccessWriteAndFlush() throws {
        let p = try makeFile("fua.img", size: 64 * kib, byte: 0)
        let device = try openAIO(aioSpec("fua", p))
        defer { device.close() }
        try write(device, 8192, pattern(8192, seed: 5), fua: true).wait()
        try write(device, 512, pattern(1024, seed: 6), fua: true).wait()
        XCTAssertEqual(preadFile(p, offset: 8192, length: 8192), pattern(8192, seed: 5))
        XCTAssertEqual(preadFile(p, offset: 512, length: 1024), pattern(1024, seed: 6))
        try write(device, 16384, pattern(4096, seed: 7)).wait()
        try device.flush(on: loop).wait()
        XCTAssertEqual(preadFile(p, offset: 16384, length: 4096), pattern(4096, seed: 7))
    }

    func testOutOfRangeAndEmptyRequests() throws {
        let p = try makeFile("oor.img", size: 64 * kib, byte: 0)
        let device = try openAIO(aioSpec("oor", p, size: 32 * 1024))
        defer { device.close() }
        let size = UInt64(32 * kib)
        XCTAssertEqual(failure(device.read(offset: size - 512, length: 1024, on: loop)),
                       .outOfRange(device: "oor", offset: size - 512, length: 1024, size: size))
        XCTAssertEqual(failure(device.read(offset: size + 4096, length: 1, on: loop)),
                       .outOfRange(device: "oor", offset: size + 4096, length: 1, size: size))
        XCTAssertEqual(failure(write(device, Int(size), [1])),
                       .outOfRange(device: "oor", offset: size, length: 1, size: size))
        XCTAssertEqual(try device.read(offset: size, length: 0, on: loop).wait().readableBytes, 0)
        try device.write(offset: size, buffers: [], forceUnitAccess: false, on: loop).wait()
        try write(device, Int(size) - 512, pattern(512, seed: 1)).wait()
        XCTAssertEqual(try readBack(device, offset: size - 512, length: 512), pattern(512, seed: 1))
    }

    func testManyRequestsBeyondTheQueueDepth() throws {
        let small = AIOEngine(queueDepth: 4)
        defer { small.shutdown() }
        let size = 1 << 20
        let p = try makeFile("deep.img", size: size, byte: 0)
        guard let device = try DeviceOpener.open(aioSpec("deep", p), aioEngine: small) as? AIOFileDevice else {
            return XCTFail("not aio")
        }
        defer { device.close() }
        // 256 block writes at once (64x the queue depth), then 256 reads at once.
        let writes = (0..<256).map { i in write(device, i * 4096, pattern(4096, seed: i)) }
        for w in writes { try w.wait() }
        let reads = (0..<256).map { i in device.read(offset: UInt64(i * 4096), length: 4096, on: loop) }
        for (i, r) in reads.enumerated() {
            let buffer = try r.wait()
            XCTAssertEqual(buffer.getBytes(at: buffer.readerIndex, length: 4096), pattern(4096, seed: i), "block \(i)")
        }
        // Mixed partial writes over the same blocks, also beyond the depth.
        let partial = (0..<64).map { i in write(device, i * 4096 + 512, pattern(1024, seed: 1000 + i)) }
        for w in partial { try w.wait() }
        for i in 0..<64 {
            var expected = pattern(4096, seed: i)
            expected.replaceSubrange(512..<1536, with: pattern(1024, seed: 1000 + i))
            XCTAssertEqual(preadFile(p, offset: i * 4096, length: 4096), expected, "block \(i)")
        }
    }

    func testRequestsFromTwoEventLoopsCompleteOnTheirLoops() throws {
        let group2 = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group2.syncShutdownGracefully() }
        let loops = [group2.next(), group2.next()]
        XCTAssertFalse(loops[0] === loops[1])
        let p = try makeFile("two.img", size: 512 * kib, byte: 0)
        let device = try openAIO(aioSpec("two", p))
        defer { device.close() }
        var futures: [EventLoopFuture<Void>] = []
        for i in 0..<128 {
            let loop = loops[i % 2]
            let offset = i * 4096
            let data = pattern(4096, seed: i)
            let done = write(device, offset, data, on: loop).flatMap {
                device.read(offset: UInt64(offset), length: 4096, on: loop)
            }.flatMapThrowing { buffer in
                XCTAssertTrue(loop.inEventLoop, "completed on the submitting loop")
                XCTAssertEqual(buffer.getBytes(at: buffer.readerIndex, length: 4096), data)
            }
            futures.append(done)
        }
        // From inside each loop too (no hop).
        for (n, loop) in loops.enumerated() {
            futures.append(loop.flatSubmit {
                device.read(offset: UInt64(n * 4096), length: 4096, on: loop).map { _ in XCTAssertTrue(loop.inEventLoop) }
            })
        }
        for f in futures { try f.wait() }
        XCTAssertEqual(engine.contextCount, 2, "one context per loop")
        // A loop that shuts down takes its context with it.
        try group2.syncShutdownGracefully()
        XCTAssertEqual(engine.contextCount, 0)
    }

    func testCallsAfterCloseFailAndCloseWaitsForRequestsInFlight() throws {
        let p = try makeFile("close.img", size: 256 * kib, byte: 0x42)
        let device = try openAIO(aioSpec("c", p))
        let reads = (0..<64).map { i in device.read(offset: UInt64(i * 4096), length: 4096, on: loop) }
        device.close()
        for r in reads {
            // Requests accepted before close still complete normally.
            XCTAssertEqual(try r.wait().readableBytes, 4096)
        }
        XCTAssertEqual(failure(device.read(offset: 0, length: 512, on: loop)), .closed(device: "c"))
        XCTAssertEqual(failure(write(device, 0, [1])), .closed(device: "c"))
        XCTAssertEqual(failure(device.flush(on: loop)), .closed(device: "c"))
    }

    func testFileTruncatedUnderneathGivesShortTransfer() throws {
        let p = try makeFile("shrink.img", size: 64 * kib, byte: 1)
        let device = try openAIO(aioSpec("sh", p))
        defer { device.close() }
        XCTAssertEqual(truncate(p, 8192), 0)
        guard case let .shortTransfer(name, op, _, expected, transferred)? = failure(device.read(offset: 16384, length: 4096, on: loop)) else {
            return XCTFail("expected shortTransfer")
        }
        XCTAssertEqual([name, op], ["sh", "read"])
        XCTAssertEqual(expected, 4096)
        XCTAssertEqual(transferred, 0)
    }

    func testKernelErrorsComeBackAsNegativeErrno() throws {
        // A request the kernel refuses (a closed descriptor) completes with -EBADF, on the loop.
        let loop = self.loop
        let engine = self.engine!
        let result = try loop.submit { () -> EventLoopFuture<Int> in
            let context = try engine.context(for: loop)
            let promise = loop.makePromise(of: Int.self)
            let memory = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
            context.submit(AIOOperation(fd: -1, kind: .read(memory, 4096), offset: 0) { result in
                memory.deallocate()
                promise.succeed(result)
            })
            return promise.futureResult
        }.wait().wait()
        XCTAssertEqual(result, -Int(EBADF))
        // The device maps such results to StorageError.io with the errno.
        XCTAssertEqual("\(StorageError.io(device: "d", operation: "read", offset: 0, length: 1, errno: EBADF))",
                       "device d: read of 1 bytes at offset 0 failed: Bad file descriptor (errno 9)")
    }

    func testUnalignedDirectIOIsReallyRefusedHere() throws {
        // Guards the premise of these tests: on this file system O_DIRECT enforces alignment
        // (on allocated blocks: holes read as zeros unchecked, hence files filled with data),
        // so the device's own alignment handling is what makes the tests above pass.
        let p = try makeFile("premise.img", size: 64 * kib, byte: 7)
        let fd = open(p, O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertNil(DeviceOpener.setDirect(fd))
        let memory = UnsafeMutableRawPointer.allocate(byteCount: 8192, alignment: 4096)
        defer { memory.deallocate() }
        XCTAssertEqual(pread(fd, memory, 4096, 0), 4096)
        XCTAssertEqual(pread(fd, memory + 16, 4096, 0), -1, "misaligned memory")
        XCTAssertEqual(errno, EINVAL)
        XCTAssertEqual(pwrite(fd, memory, 4096, 100), -1, "misaligned offset")
        XCTAssertEqual(errno, EINVAL)
        XCTAssertEqual(pwrite(fd, memory, 100, 0), -1, "misaligned length")
        XCTAssertEqual(errno, EINVAL)
    }
}

/// The aio engine on a real block device (a loop device over a file): needs root and
/// losetup, skipped otherwise.
final class AIOBlockDeviceTests: StorageTestCase {
    func testBlockDeviceDefaultsToAIOWithItsLogicalBlockSize() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/losetup") || FileManager.default.isExecutableFile(atPath: "/sbin/losetup") else {
            throw XCTSkip("needs root and losetup")
        }
        if AIOFileDeviceTests.isMemoryFileSystem(directory) { throw XCTSkip("backing file on tmpfs") }
        let backing = try makeFile("loop.img", size: 8 << 20, byte: 0x33)
        let losetup = FileManager.default.isExecutableFile(atPath: "/usr/sbin/losetup") ? "/usr/sbin/losetup" : "/sbin/losetup"
        guard let loopDevice = Self.run(losetup, ["--find", "--show", backing]), loopDevice.hasPrefix("/dev/loop") else {
            throw XCTSkip("losetup could not attach a loop device")
        }
        defer { _ = Self.run(losetup, ["--detach", loopDevice]) }
        let engine = AIOEngine()
        defer { engine.shutdown() }
        var spec = DeviceSpec(name: "blk", source: .path(loopDevice))
        spec.engine = .automatic
        let device = try DeviceOpener.open(spec, aioEngine: engine)
        defer { device.close() }
        guard let aio = device as? AIOFileDevice else { return XCTFail("a block device defaults to aio, got \(type(of: device))") }
        XCTAssertEqual(aio.size, 8 << 20)
        XCTAssertEqual(aio.alignment, 512)
        let name = (loopDevice as NSString).lastPathComponent
        if let cache = try? String(contentsOfFile: "/sys/block/\(name)/queue/write_cache", encoding: .utf8) {
            XCTAssertEqual(aio.hasVolatileCache, cache.hasPrefix("write back"), cache)
        }
        XCTAssertEqual(try readBack(aio, offset: 0, length: 4096), [UInt8](repeating: 0x33, count: 4096))
        try writeChunks(aio, offset: 512 * 3, [pattern(700, seed: 1), pattern(324, seed: 2)], fua: true)
        try aio.flush(on: loop).wait()
        XCTAssertEqual(try readBack(aio, offset: 512 * 3, length: 1024), pattern(700, seed: 1) + pattern(324, seed: 2))
        aio.close()
        _ = Self.run("/bin/sync", [])
        XCTAssertEqual(preadFile(backing, offset: 512 * 3, length: 1024), pattern(700, seed: 1) + pattern(324, seed: 2))
    }

    static func run(_ tool: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
