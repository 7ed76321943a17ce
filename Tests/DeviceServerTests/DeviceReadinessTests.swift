@testable import DeviceServer
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import SCSI
import Storage
import XCTest

/// A device that is not ready until the test says so (an RBD image not reached yet).
final class LateDevice: DeviceReadiness, @unchecked Sendable {
    let name = "late"
    let hasVolatileCache = false
    private let inner: RAMDevice
    private let box = NIOLockedValueBox<(ready: Bool, handler: (@Sendable (UInt64) -> Void)?)>((false, nil))

    init(size: UInt64) throws { inner = try RAMDevice(name: "late", size: size) }

    var size: UInt64 { isReady ? inner.size : 0 }
    var isReady: Bool { box.withLockedValue { $0.ready } }
    func whenReady(_ handler: @escaping @Sendable (UInt64) -> Void) { box.withLockedValue { $0.handler = handler } }
    func becomeReady() {
        let handler = box.withLockedValue { b in b.ready = true; return b.handler }
        handler?(inner.size)
    }

    func read(offset: UInt64, length: Int, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        inner.read(offset: offset, length: length, on: eventLoop)
    }
    func write(offset: UInt64, buffers: [ByteBuffer], forceUnitAccess: Bool, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        inner.write(offset: offset, buffers: buffers, forceUnitAccess: forceUnitAccess, on: eventLoop)
    }
    func flush(on eventLoop: EventLoop) -> EventLoopFuture<Void> { inner.flush(on: eventLoop) }
    func close() { inner.close() }
}

final class DeviceReadinessTests: XCTestCase {
    func testAnLUOverADeviceNotReadyAnswersNotReadyThenServesWithItsSize() throws {
        let device = try LateDevice(size: 1 << 20)
        let fixture = try DeviceServerFixture(device: device)
        try fixture.ready()  // takes the POWER ON unit attention
        let notReady = ParsedSense(key: 0x2, asc: 0x04, ascq: 0x01)
        // medium access and TEST UNIT READY: NOT READY, BECOMING READY; INQUIRY answers
        for cdb in [[0x00, 0, 0, 0, 0, 0], [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], DeviceServerFixture.read10(lba: 0, blocks: 1)]
            as [[UInt8]] {
            let (_, completion) = try fixture.run(cdb, expected: 512)
            XCTAssertEqual(ParsedSense(completion.sense), notReady, "CDB \(cdb[0])")
        }
        XCTAssertEqual(try fixture.run([0x12, 0, 0, 0, 96, 0], expected: 96).completion.status, .good, "INQUIRY")
        let sense = try fixture.run([0x03, 0, 0, 0, 18, 0], expected: 18).completion
        XCTAssertEqual(sense.dataIn.map { ParsedSense(Array($0.readableBytesView)) } ?? nil, notReady, "REQUEST SENSE says why")

        device.becomeReady()
        XCTAssertEqual(fixture.unit.info.blockCount, 2048, "the device's size, once known")
        XCTAssertEqual(try fixture.run([0x00, 0, 0, 0, 0, 0], expected: 0).completion.status, .good)
        let capacity = try fixture.run([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], expected: 8).completion
        XCTAssertEqual(capacity.dataIn.map { Array($0.readableBytesView.prefix(4)) }, [0, 0, 0x07, 0xFF])
    }
}
