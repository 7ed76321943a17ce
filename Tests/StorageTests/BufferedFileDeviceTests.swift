import Glibc
import NIOCore
import NIOPosix
import Storage
import XCTest

final class BufferedFileDeviceTests: StorageTestCase {
    private let mib: UInt64 = 1 << 20

    // MARK: opening

    func testCreateMakesASparseFileOfTheRequestedSize() throws {
        let p = path("new.img")
        let device = try openDevice(DeviceSpec(name: "new", source: .path(p), size: 64 * mib, create: true))
        defer { device.close() }
        XCTAssertTrue(device is BufferedFileDevice)
        XCTAssertEqual(device.name, "new")
        XCTAssertEqual(device.size, 64 * mib)
        XCTAssertTrue(device.hasVolatileCache)
        let st = fileStat(p)
        XCTAssertEqual(UInt64(st.st_size), 64 * mib)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG)
        // st_blocks counts 512-byte units actually allocated: a sparse file has (almost) none.
        XCTAssertLessThan(Int(st.st_blocks) * 512, 1 << 20, "file should be sparse")
        // A fresh file reads as zeros.
        XCTAssertEqual(try readBack(device, offset: 32 * mib, length: 4096), [UInt8](repeating: 0, count: 4096))
    }

    func testCreateWithOffsetSizesTheFileForTheSlice() throws {
        let p = path("sliced-new.img")
        let device = try openDevice(DeviceSpec(name: "s", source: .path(p), offset: mib, size: 2 * mib, create: true))
        defer { device.close() }
        XCTAssertEqual(device.size, 2 * mib)
        XCTAssertEqual(UInt64(fileStat(p).st_size), 3 * mib)
    }

    func testCreateDoesNotTouchAnExistingFile() throws {
        let p = try makeFile("existing.img", size: 8192, byte: 0x5a)
        let device = try openDevice(DeviceSpec(name: "e", source: .path(p), size: 4096, create: true))
        defer { device.close() }
        XCTAssertEqual(fileStat(p).st_size, 8192, "not truncated")
        XCTAssertEqual(try readBack(device, offset: 0, length: 4096), [UInt8](repeating: 0x5a, count: 4096))
    }

    func testWholeFileWithoutSizeExportsWholeBlocks() throws {
        let p = try makeFile("odd.img", size: 3 * 512 + 100)
        let device = try openDevice(DeviceSpec(name: "odd", source: .path(p)))
        defer { device.close() }
        XCTAssertEqual(device.size, 3 * 512, "the partial block at the end is not exported")
    }

    func testMissingFileWithoutCreateNeedsASize() {
        let p = path("absent.img")
        guard case let .sizeRequired(reported)? = openError(DeviceSpec(name: "a", source: .path(p), size: mib)) else {
            return XCTFail("expected sizeRequired")
        }
        XCTAssertEqual(reported, p)
        XCTAssertEqual(access(p, F_OK), -1, "no file created")
    }

    func testCreateWithoutSizeNeedsASize() {
        let p = path("absent2.img")
        guard case .sizeRequired? = openError(DeviceSpec(name: "a", source: .path(p), create: true)) else {
            return XCTFail("expected sizeRequired")
        }
        XCTAssertEqual(access(p, F_OK), -1, "no file created")
    }

    func testDirectoryIsRefused() {
        let error = openError(DeviceSpec(name: "d", source: .path(directory)))
        XCTAssertNotNil(error, "a directory is not a backing store")
        switch error {
        case .open?, .notARegularFileOrBlockDevice?: break
        default: XCTFail("unexpected \(String(describing: error))")
        }
    }

    func testSizeNotAMultipleOfTheBlockSizeIsMisaligned() throws {
        let p = try makeFile("m.img", size: Int(mib))
        guard case let .misaligned(name, size, blockSize)? = openError(DeviceSpec(name: "m", source: .path(p), size: 1000)) else {
            return XCTFail("expected misaligned")
        }
        XCTAssertEqual(name, "m")
        XCTAssertEqual(size, 1000)
        XCTAssertEqual(blockSize, 512)
        guard case .misaligned? = openError(DeviceSpec(name: "m4k", source: .path(p), size: 512 * 3, blockSize: 4096)) else {
            return XCTFail("expected misaligned for 4096-byte blocks")
        }
        guard case .misaligned? = openError(DeviceSpec(name: "c", source: .path(path("c.img")), size: 1000, create: true)) else {
            return XCTFail("expected misaligned when creating")
        }
    }

    func testSliceBeyondTheFileIsOutOfBounds() throws {
        let p = try makeFile("small.img", size: Int(mib))
        guard case let .sliceOutOfBounds(_, offset, size, deviceSize)? =
                openError(DeviceSpec(name: "s", source: .path(p), offset: mib - 4096, size: 8192)) else {
            return XCTFail("expected sliceOutOfBounds")
        }
        XCTAssertEqual(offset, mib - 4096)
        XCTAssertEqual(size, 8192)
        XCTAssertEqual(deviceSize, mib)
        guard case .sliceOutOfBounds? = openError(DeviceSpec(name: "s", source: .path(p), offset: 2 * mib)) else {
            return XCTFail("expected sliceOutOfBounds for an offset past the end")
        }
        guard case .sliceOutOfBounds? = openError(DeviceSpec(name: "s", source: .path(p), size: 2 * mib)) else {
            return XCTFail("expected sliceOutOfBounds for a size past the end")
        }
    }

    // MARK: I/O

    func testWriteThenReadBack() throws {
        let device = try openDevice(DeviceSpec(name: "rw", source: .path(path("rw.img")), size: mib, create: true))
        defer { device.close() }
        // Several buffers in one write, of sizes that are not multiples of anything.
        let chunks = [pattern(512, seed: 1), pattern(1000, seed: 2), pattern(3, seed: 3), pattern(4096 + 17, seed: 4)]
        let all = chunks.flatMap { $0 }
        try writeChunks(device, offset: 8192, chunks)
        XCTAssertEqual(try readBack(device, offset: 8192, length: all.count), all)
        // Unaligned sub-range.
        XCTAssertEqual(try readBack(device, offset: 8192 + 509, length: 777), Array(all[509..<(509 + 777)]))
        // Bytes around the write are untouched.
        XCTAssertEqual(try readBack(device, offset: 8191, length: 1), [0])
        XCTAssertEqual(try readBack(device, offset: 8192 + UInt64(all.count), length: 1), [0])
        // And the file agrees.
        XCTAssertEqual(preadFile(path("rw.img"), offset: 8192, length: all.count), all)
    }

    func testWriteAtTheVeryEndAndEmptyIO() throws {
        let device = try openDevice(DeviceSpec(name: "end", source: .path(path("end.img")), size: mib, create: true))
        defer { device.close() }
        let tail = pattern(512, seed: 9)
        try writeChunks(device, offset: mib - 512, [tail])
        XCTAssertEqual(try readBack(device, offset: mib - 512, length: 512), tail)
        // Zero-length transfers at the end are in range and do nothing.
        XCTAssertEqual(try readBack(device, offset: mib, length: 0), [])
        try writeChunks(device, offset: mib, [])
        try writeChunks(device, offset: 0, [[]])
    }

    func testManyBuffersInOneWrite() throws {
        let device = try openDevice(DeviceSpec(name: "many", source: .path(path("many.img")), size: mib, create: true))
        defer { device.close() }
        let chunks = (0..<100).map { pattern(37 + $0, seed: $0) }
        let all = chunks.flatMap { $0 }
        for fua in [false, true] {
            try writeChunks(device, offset: fua ? 65536 : 0, chunks, fua: fua)
            XCTAssertEqual(try readBack(device, offset: fua ? 65536 : 0, length: all.count), all, "fua \(fua)")
        }
    }

    func testLargeTransfers() throws {
        // Large reads may take a different path (thread pool) from small cached ones.
        let p = path("large.img")
        let device = try openDevice(DeviceSpec(name: "large", source: .path(p), size: 4 * mib, create: true))
        defer { device.close() }
        let data = pattern(Int(mib) + 4096, seed: 12)
        try writeChunks(device, offset: mib, [Array(data[..<300_000]), Array(data[300_000...])])
        XCTAssertEqual(try readBack(device, offset: mib, length: data.count), data)
        XCTAssertEqual(try readBack(device, offset: mib + 65_535, length: 65_537), Array(data[65_535..<131_072]))
        XCTAssertEqual(preadFile(p, offset: Int(mib), length: data.count), data)
    }

    func testForceUnitAccessWrite() throws {
        let p = path("fua.img")
        let device = try openDevice(DeviceSpec(name: "fua", source: .path(p), size: mib, create: true))
        defer { device.close() }
        let data = pattern(4096, seed: 5)
        try writeChunks(device, offset: 12288, [Array(data[..<1000]), Array(data[1000...])], fua: true)
        XCTAssertEqual(try readBack(device, offset: 12288, length: 4096), data)
        XCTAssertEqual(preadFile(p, offset: 12288, length: 4096), data)
    }

    func testFlushSucceeds() throws {
        let device = try openDevice(DeviceSpec(name: "fl", source: .path(path("fl.img")), size: mib, create: true))
        defer { device.close() }
        try writeChunks(device, offset: 0, [pattern(512, seed: 6)])
        XCTAssertNoThrow(try device.flush(on: loop).wait())
        XCTAssertEqual(try readBack(device, offset: 0, length: 512), pattern(512, seed: 6))
    }

    func testOutOfRangeReadsAndWritesFail() throws {
        let device = try openDevice(DeviceSpec(name: "oor", source: .path(path("oor.img")), size: mib, create: true))
        defer { device.close() }
        guard case let .outOfRange(name, offset, length, size)? = failure(device.read(offset: mib - 512, length: 1024, on: loop)) else {
            return XCTFail("expected outOfRange")
        }
        XCTAssertEqual(name, "oor")
        XCTAssertEqual(offset, mib - 512)
        XCTAssertEqual(length, 1024)
        XCTAssertEqual(size, mib)
        guard case .outOfRange? = failure(device.read(offset: mib + 1, length: 0, on: loop)) else {
            return XCTFail("expected outOfRange past the end")
        }
        guard case .outOfRange? = failure(device.read(offset: UInt64.max, length: 1, on: loop)) else {
            return XCTFail("expected outOfRange, no overflow")
        }
        guard case .outOfRange? = failure(device.read(offset: 512, length: Int(mib), on: loop)) else {
            return XCTFail("expected outOfRange for a long read")
        }
        let buffers = [ByteBuffer(bytes: pattern(512, seed: 1)), ByteBuffer(bytes: pattern(512, seed: 2))]
        guard case .outOfRange? = failure(device.write(offset: mib - 512, buffers: buffers, forceUnitAccess: false, on: loop)) else {
            return XCTFail("expected outOfRange for a write")
        }
        guard case .outOfRange? = failure(device.write(offset: UInt64.max - 100, buffers: buffers, forceUnitAccess: true, on: loop)) else {
            return XCTFail("expected outOfRange for a write, no overflow")
        }
        // The rejected write left nothing behind.
        XCTAssertEqual(try readBack(device, offset: mib - 512, length: 512), [UInt8](repeating: 0, count: 512))
    }

    func testSliceMapsDeviceOffsetsIntoTheFile() throws {
        let p = try makeFile("base.img", size: Int(mib), byte: 0xee)
        let base: UInt64 = 65536
        let device = try openDevice(DeviceSpec(name: "slice", source: .path(p), offset: base, size: 131_072))
        defer { device.close() }
        XCTAssertEqual(device.size, 131_072)
        let data = pattern(1024, seed: 11)
        try writeChunks(device, offset: 512, [data])
        XCTAssertEqual(preadFile(p, offset: Int(base) + 512, length: 1024), data, "data lands at offset + lba")
        XCTAssertEqual(preadFile(p, offset: 512, length: 1024), [UInt8](repeating: 0xee, count: 1024),
                       "the same offset outside the slice is untouched")
        XCTAssertEqual(try readBack(device, offset: 512, length: 1024), data)
        XCTAssertEqual(try readBack(device, offset: 0, length: 512), [UInt8](repeating: 0xee, count: 512))
        // The slice ends at its size, not at the end of the file.
        guard case .outOfRange? = failure(device.read(offset: 131_072, length: 512, on: loop)) else {
            return XCTFail("expected outOfRange at the end of the slice")
        }
    }

    func testSliceWithoutSizeRunsToTheEndOfTheFile() throws {
        let p = try makeFile("tail.img", size: Int(mib), byte: 0x11)
        let device = try openDevice(DeviceSpec(name: "tail", source: .path(p), offset: mib - 8192))
        defer { device.close() }
        XCTAssertEqual(device.size, 8192)
        try writeChunks(device, offset: 8192 - 512, [pattern(512, seed: 3)])
        XCTAssertEqual(preadFile(p, offset: Int(mib) - 512, length: 512), pattern(512, seed: 3))
    }

    func testCallsAfterCloseFail() throws {
        let device = try openDevice(DeviceSpec(name: "cl", source: .path(path("cl.img")), size: mib, create: true))
        device.close()
        device.close() // idempotent
        guard case .closed("cl")? = failure(device.read(offset: 0, length: 512, on: loop)) else {
            return XCTFail("read after close")
        }
        guard case .closed? = failure(device.write(offset: 0, buffers: [ByteBuffer(bytes: [1])], forceUnitAccess: false, on: loop)) else {
            return XCTFail("write after close")
        }
        guard case .closed? = failure(device.flush(on: loop)) else {
            return XCTFail("flush after close")
        }
    }

    func testFileTruncatedUnderneathGivesShortTransfer() throws {
        let p = path("shrink.img")
        let device = try openDevice(DeviceSpec(name: "shrink", source: .path(p), size: mib, create: true))
        defer { device.close() }
        try writeChunks(device, offset: 512 * 1024, [pattern(4096, seed: 8)])
        // Shrink the file behind the device's back.
        XCTAssertEqual(truncate(p, 256 * 1024), 0)
        // Entirely beyond the new end.
        guard case let .shortTransfer(name, operation, offset, expected, transferred)? =
                failure(device.read(offset: 512 * 1024, length: 4096, on: loop)) else {
            return XCTFail("expected shortTransfer")
        }
        XCTAssertEqual(name, "shrink")
        XCTAssertEqual(operation, "read")
        XCTAssertEqual(offset, 512 * 1024)
        XCTAssertEqual(expected, 4096)
        XCTAssertEqual(transferred, 0)
        // Straddling the new end: the part before it is read, then the transfer comes up short.
        guard case let .shortTransfer(_, _, _, expected2, transferred2)? =
                failure(device.read(offset: 256 * 1024 - 1024, length: 4096, on: loop)) else {
            return XCTFail("expected shortTransfer across the new end")
        }
        XCTAssertEqual(expected2, 4096)
        XCTAssertEqual(transferred2, 1024)
        // A large read (which may skip the inline attempt) straddling the new end.
        guard case let .shortTransfer(_, _, _, expected3, transferred3)? =
                failure(device.read(offset: 128 * 1024, length: 256 * 1024, on: loop)) else {
            return XCTFail("expected shortTransfer for a large read")
        }
        XCTAssertEqual(expected3, 256 * 1024)
        XCTAssertEqual(transferred3, 128 * 1024)
        // Reads before the new end still work.
        XCTAssertEqual(try readBack(device, offset: 0, length: 4096), [UInt8](repeating: 0, count: 4096))
    }
}
