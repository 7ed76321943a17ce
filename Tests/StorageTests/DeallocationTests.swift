import Glibc
import NIOCore
@testable import Storage
import XCTest

/// Thin provisioning on a file LU: punched holes read as zeros, SEEK_DATA/SEEK_HOLE tell
/// mapped from deallocated, a slice's offset is honoured.
final class DeallocationTests: StorageTestCase {
    func testDeallocatedRangeReadsZerosAndIsReportedAsSuch() throws {
        let file = try makeFile("thin.img", size: 1 << 20, byte: 0xAB)
        let device = try openDevice(DeviceSpec(name: "thin", source: .path(file), offset: 64 << 10, size: 512 << 10,
                                               engine: .buffered))
        defer { device.close() }
        let store = try XCTUnwrap(device as? Deallocating)
        XCTAssertTrue(store.canDeallocate)
        try store.deallocate(offset: 128 << 10, length: 64 << 10, on: loop).wait()
        XCTAssertEqual(try readBack(device, offset: 128 << 10, length: 64 << 10), [UInt8](repeating: 0, count: 64 << 10))
        XCTAssertEqual(try readBack(device, offset: (128 << 10) - 512, length: 512), [UInt8](repeating: 0xAB, count: 512),
                       "the bytes before the range are untouched")
        // The file: the hole is at slice offset + 128 KiB.
        XCTAssertEqual(preadFile(file, offset: (64 + 128) << 10, length: 16), [UInt8](repeating: 0, count: 16))
        XCTAssertEqual(preadFile(file, offset: (64 + 192) << 10, length: 16), [UInt8](repeating: 0xAB, count: 16))

        let start = try store.allocation(at: 0, length: 512 << 10, on: loop).wait()
        XCTAssertTrue(start.mapped)
        XCTAssertEqual(start.length, 128 << 10, "mapped up to the hole")
        let hole = try store.allocation(at: 128 << 10, length: 384 << 10, on: loop).wait()
        XCTAssertFalse(hole.mapped)
        XCTAssertEqual(hole.length, 64 << 10)
    }

    func testOutOfRangeIsRefused() throws {
        let file = try makeFile("thin.img", size: 1 << 20)
        let device = try openDevice(DeviceSpec(name: "thin", source: .path(file), engine: .buffered))
        defer { device.close() }
        let store = try XCTUnwrap(device as? Deallocating)
        XCTAssertNotNil(failure(store.deallocate(offset: 1 << 20, length: 512, on: loop)))
    }
}
