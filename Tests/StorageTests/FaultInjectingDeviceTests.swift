import Glibc
import NIOCore
import NIOPosix
import Storage
import StorageTestSupport
import XCTest

final class FaultInjectingDeviceTests: StorageTestCase {
    func testNthAndFromAreCountedPerOperationAndDeterministic() throws {
        let device = FaultInjectingDevice(wrapping: try RAMDevice(name: "r", size: 65536))
        defer { device.close() }
        device.failNth(3, of: [.read])
        device.failFrom(2, of: [.flush])
        var outcomes: [Bool] = []
        for _ in 0..<5 { outcomes.append((try? device.read(offset: 0, length: 10, on: loop).wait()) != nil) }
        XCTAssertEqual(outcomes, [true, true, false, true, true])
        try writeChunks(device, offset: 0, [[1, 2, 3]])  // writes are not counted by the read fault
        XCTAssertNoThrow(try device.flush(on: loop).wait())
        guard case .io(device: "r", operation: "flush", _, _, errno: EIO)? = failure(device.flush(on: loop)) else {
            return XCTFail("expected EIO")
        }
        XCTAssertNotNil(failure(device.flush(on: loop)))
        device.heal()
        XCTAssertNoThrow(try device.flush(on: loop).wait())
        let c = device.counters
        XCTAssertEqual(c.reads, 5)
        XCTAssertEqual(c.writes, 1)
        XCTAssertEqual(c.flushes, 4)
        XCTAssertEqual(c.injected, 3)
        XCTAssertEqual(c.bytesRead, 40)
        XCTAssertEqual(c.bytesWritten, 3)
    }

    func testShortTransfers() throws {
        let ram = try RAMDevice(name: "r", size: 65536)
        let device = FaultInjectingDevice(wrapping: ram)
        defer { device.close() }
        device.inject(.init([.read, .write], .from(1), .short))
        XCTAssertEqual(try device.read(offset: 0, length: 100, on: loop).wait().readableBytes, 50)
        guard case .shortTransfer(device: "r", operation: "write", offset: 0, expected: 8, transferred: 4)? =
            failure(device.write(offset: 0, buffers: [ByteBuffer(bytes: [1, 2, 3]), ByteBuffer(bytes: [4, 5, 6, 7, 8])],
                                 forceUnitAccess: false, on: loop)) else {
            return XCTFail("expected a short write")
        }
        XCTAssertEqual(try readBack(ram, offset: 0, length: 8), [1, 2, 3, 4, 0, 0, 0, 0], "the first half was stored")
    }

    func testLatencyKeepsRequestsInFlight() throws {
        let device = FaultInjectingDevice(wrapping: try RAMDevice(name: "r", size: 65536), latency: .milliseconds(20))
        defer { device.close() }
        let futures = (0..<8).map { _ in device.read(offset: 0, length: 512, on: loop) }
        for f in futures { _ = try f.wait() }
        XCTAssertEqual(device.counters.maxInFlight, 8)
        device.failNth(1)
        XCTAssertNotNil(failure(device.read(offset: 0, length: 1, on: loop)))
    }
}
