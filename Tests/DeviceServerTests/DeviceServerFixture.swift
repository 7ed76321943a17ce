@testable import DeviceServer
import NIOCore
import NIOEmbedded
import SCSI
import Storage
import XCTest

/// A LU on a RAM disk, driven the way a transport drives it: prepare, collect the planned
/// Data-Out, execute, on an embedded event loop.
final class DeviceServerFixture {
    final class Task: TaskHandle {
        var isAborted = false
    }

    final class Services: TaskSetServices {
        var copyReachableUnits: [LogicalUnit] = []
        var aborted: [[NexusIdentity]] = []
        let loop: EventLoop
        init(loop: EventLoop) { self.loop = loop }
        func abortTasks(of nexuses: [NexusIdentity], on unit: LogicalUnit) -> EventLoopFuture<Void> {
            aborted.append(nexuses)
            return loop.makeSucceededVoidFuture()
        }
    }

    static let targetName = "iqn.2026-12.org.targe.test:lu"
    static let nexus = NexusIdentity(initiatorName: "iqn.2026-12.org.example:host", isid: 0x8000_0000_0001,
                                     targetName: targetName, portalGroupTag: 1, relativeTargetPort: 1)

    let loop = EmbeddedEventLoop()
    let device: BlockDevice
    let unit: LogicalUnit
    lazy var services = Services(loop: loop)

    init(blocks: UInt64 = 2048, device: BlockDevice? = nil) throws {
        let device = try device ?? RAMDevice(name: "ram0", size: blocks * 512)
        self.device = device
        unit = LogicalUnit(info: LogicalUnitInfo(blockCount: device.size / 512, targetName: Self.targetName,
                                                 deviceName: device.name),
                           device: device)
    }

    /// Prepares and runs one command; `dataOut` is cut into `chunkSize` pieces as PDUs would be.
    func run(_ cdb: [UInt8], expected: Int, dataOut: [UInt8] = [], chunkSize: Int = 512,
             unit: LogicalUnit? = nil, task: Task = Task()) throws -> (plan: TransferPlan, completion: SCSICompletion) {
        let context = CommandContext(lunList: [0], expectedDataTransferLength: UInt32(expected), portalGroupTag: 1, nexus: Self.nexus)
        let command = (unit ?? self.unit).prepare(CDB(cdb), context: context)
        var chunks: [ByteBuffer] = []
        var offset = 0
        while offset < dataOut.count {
            let end = min(offset + chunkSize, dataOut.count)
            chunks.append(ByteBuffer(bytes: dataOut[offset..<end]))
            offset = end
        }
        let future = command.execute(dataOut: chunks, task: task, services: services, on: loop)
        loop.run()
        return (command.transfer, try future.wait())
    }

    /// Sends TEST UNIT READY once, to take the POWER ON unit attention every new nexus finds.
    func ready() throws {
        _ = try run([0x00, 0, 0, 0, 0, 0], expected: 0)
    }

    static func read10(lba: UInt32, blocks: UInt16) -> [UInt8] {
        [0x28, 0] + be(lba) + [0] + be(blocks) + [0]
    }

    static func write10(lba: UInt32, blocks: UInt16) -> [UInt8] {
        [0x2A, 0] + be(lba) + [0] + be(blocks) + [0]
    }

    static func compareAndWrite(lba: UInt64, blocks: UInt8) -> [UInt8] {
        [0x89, 0] + be(lba) + [0, 0, 0, blocks, 0, 0]
    }

    static func be<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}

/// Fixed-format sense data (SPC-4 4.5.3) as the LU returns it.
struct ParsedSense: Equatable {
    var key: UInt8
    var asc: UInt8
    var ascq: UInt8

    init(key: UInt8, asc: UInt8, ascq: UInt8) {
        self.key = key
        self.asc = asc
        self.ascq = ascq
    }

    init?(_ bytes: [UInt8]?) {
        guard let bytes, bytes.count >= 14, bytes[0] & 0x7F == 0x70 else { return nil }
        self.init(key: bytes[2] & 0x0F, asc: bytes[12], ascq: bytes[13])
    }
}

/// A device whose every call fails with an I/O error, as a vanished disk does.
final class VanishedDevice: BlockDevice, @unchecked Sendable {
    let name = "gone"
    let size: UInt64 = 1 << 20
    let hasVolatileCache = false
    var error: StorageError { .io(device: name, operation: "test", offset: 0, length: 0, errno: 5) }
    func read(offset: UInt64, length: Int, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        eventLoop.makeFailedFuture(error)
    }
    func write(offset: UInt64, buffers: [ByteBuffer], forceUnitAccess: Bool, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        eventLoop.makeFailedFuture(error)
    }
    func flush(on eventLoop: EventLoop) -> EventLoopFuture<Void> { eventLoop.makeFailedFuture(error) }
    func close() {}
}
