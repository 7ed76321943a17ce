import NIOCore
import NIOPosix
import Storage
import XCTest

final class RAMDeviceTests: StorageTestCase {
    private let size: UInt64 = 1 << 20

    func testOpenerMakesARAMDevice() throws {
        let device = try openDevice(DeviceSpec(name: "ram0", source: .ram(bytes: size)))
        defer { device.close() }
        XCTAssertTrue(device is RAMDevice)
        XCTAssertEqual(device.name, "ram0")
        XCTAssertEqual(device.size, size)
        XCTAssertFalse(device.hasVolatileCache, "RAM has no cache to flush")
    }

    func testOpenerRefusesMisalignedSize() {
        guard case let .misaligned(name, bytes, blockSize)? = openError(DeviceSpec(name: "r", source: .ram(bytes: 1000))) else {
            return XCTFail("expected misaligned")
        }
        XCTAssertEqual(name, "r")
        XCTAssertEqual(bytes, 1000)
        XCTAssertEqual(blockSize, 512)
    }

    func testZeroFilledInitially() throws {
        let device = try RAMDevice(name: "z", size: size)
        defer { device.close() }
        let all = try readBack(device, offset: 0, length: Int(size))
        XCTAssertEqual(all.count, Int(size))
        XCTAssertTrue(all.allSatisfy { $0 == 0 })
    }

    func testWriteReadRoundTrip() throws {
        let device = try RAMDevice(name: "rt", size: size)
        defer { device.close() }
        let chunks = [pattern(512, seed: 1), pattern(333, seed: 2), pattern(4096, seed: 3)]
        let all = chunks.flatMap { $0 }
        try writeChunks(device, offset: 1000, chunks)
        XCTAssertEqual(try readBack(device, offset: 1000, length: all.count), all)
        XCTAssertEqual(try readBack(device, offset: 999, length: 1), [0])
        XCTAssertEqual(try readBack(device, offset: 1000 + UInt64(all.count), length: 1), [0])
        // Overwrite part of it, FUA makes no difference for RAM.
        try writeChunks(device, offset: 1100, [[1, 2, 3]], fua: true)
        var expected = all
        expected.replaceSubrange(100..<103, with: [1, 2, 3])
        XCTAssertEqual(try readBack(device, offset: 1000, length: all.count), expected)
        XCTAssertNoThrow(try device.flush(on: loop).wait())
    }

    func testWriteOfASliceUsesItsReadableBytes() throws {
        let device = try RAMDevice(name: "sl", size: size)
        defer { device.close() }
        var buffer = ByteBuffer(bytes: [9, 9, 1, 2, 3, 4])
        buffer.moveReaderIndex(forwardBy: 2)
        try device.write(offset: 0, buffers: [buffer], forceUnitAccess: false, on: loop).wait()
        XCTAssertEqual(try readBack(device, offset: 0, length: 6), [1, 2, 3, 4, 0, 0])
    }

    func testLastByteAndEmptyTransfers() throws {
        let device = try RAMDevice(name: "end", size: size)
        defer { device.close() }
        try writeChunks(device, offset: size - 1, [[0xab]])
        XCTAssertEqual(try readBack(device, offset: size - 1, length: 1), [0xab])
        XCTAssertEqual(try readBack(device, offset: size, length: 0), [])
    }

    func testOutOfRange() throws {
        let device = try RAMDevice(name: "oor", size: size)
        defer { device.close() }
        guard case let .outOfRange(name, offset, length, devSize)? = failure(device.read(offset: size - 10, length: 11, on: loop)) else {
            return XCTFail("expected outOfRange")
        }
        XCTAssertEqual(name, "oor")
        XCTAssertEqual(offset, size - 10)
        XCTAssertEqual(length, 11)
        XCTAssertEqual(devSize, size)
        guard case .outOfRange? = failure(device.read(offset: UInt64.max, length: 1, on: loop)) else {
            return XCTFail("expected outOfRange without overflow")
        }
        guard case .outOfRange? = failure(device.write(offset: size, buffers: [ByteBuffer(bytes: [1])],
                                                        forceUnitAccess: false, on: loop)) else {
            return XCTFail("expected outOfRange for a write")
        }
        guard case .outOfRange? = failure(device.write(offset: size - 4, buffers: [ByteBuffer(bytes: [1, 2]), ByteBuffer(bytes: [3, 4, 5])],
                                                        forceUnitAccess: false, on: loop)) else {
            return XCTFail("expected outOfRange for a multi-buffer write")
        }
        XCTAssertEqual(try readBack(device, offset: size - 4, length: 4), [0, 0, 0, 0], "nothing partially written")
    }

    func testCallsAfterCloseFail() throws {
        let device = try RAMDevice(name: "gone", size: size)
        device.close()
        device.close()
        guard case .closed("gone")? = failure(device.read(offset: 0, length: 1, on: loop)) else {
            return XCTFail("read after close")
        }
        guard case .closed? = failure(device.write(offset: 0, buffers: [ByteBuffer(bytes: [1])], forceUnitAccess: false, on: loop)) else {
            return XCTFail("write after close")
        }
    }
}
