import NIOCore
import SCSI

extension PreparedCommand {
    /// How the command is counted, by its operation code (so a READ refused before any I/O
    /// is still a read, with its error): READ, the commands that write (WRITE, WRITE AND
    /// VERIFY, WRITE SAME, COMPARE AND WRITE, ORWRITE), SYNCHRONIZE CACHE, and the rest.
    public var commandClass: LogicalUnitMetrics.CommandClass {
        switch cdb.opcode {
        case 0x08, 0x28, 0xA8, 0x88: return .read
        case 0x0A, 0x2A, 0xAA, 0x8A, 0x2E, 0xAE, 0x8E, 0x41, 0x93, 0x89, 0x8B: return .write
        case 0x35, 0x91: return .flush
        default: return .other
        }
    }

    /// The bytes a command that ended GOOD moved to or from the medium for the initiator:
    /// the Data-In it returned, or the blocks it wrote.
    func mediumBytes(of completion: SCSICompletion, blockSize: Int) -> UInt64 {
        guard completion.status == .good else { return 0 }
        let written: UInt32
        switch action {
        case .read: return UInt64(completion.dataIn?.readableBytes ?? 0)
        case let .write(_, blocks, _), let .writeAndVerify(_, blocks, _), let .compareAndWrite(_, blocks, _),
             let .orWrite(_, blocks, _):
            written = blocks
        case let .writeSame(_, blocks, _, unmap):
            written = unmap ? 0 : blocks
        default:
            return 0
        }
        return UInt64(written) * UInt64(blockSize)
    }

    /// Counts the command's answer in its LU's metrics (nothing without an LU). Called by
    /// the transport on `loop` when it sends the answer; `latencyNanoseconds` runs from the
    /// command's arrival.
    public func account(_ completion: SCSICompletion, latencyNanoseconds: UInt64, on loop: EventLoop) {
        guard let unit else { return }
        let senseKey = completion.sense.flatMap { SenseData.keyAndCodes(in: $0)?.key }
        unit.metrics.record(commandClass, bytes: mediumBytes(of: completion, blockSize: unit.blockSize),
                            latencyNanoseconds: latencyNanoseconds, status: completion.status, senseKey: senseKey,
                            on: loop)
    }
}
