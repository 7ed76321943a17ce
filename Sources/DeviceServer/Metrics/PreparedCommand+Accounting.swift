import NIOCore
import SCSI

extension PreparedCommand {
    /// How the command is counted: reads, writes (every command that writes data the
    /// initiator sent or names), SYNCHRONIZE CACHE, and the rest.
    public var commandClass: LogicalUnitMetrics.CommandClass {
        switch action {
        case .read: return .read
        case .write, .writeAndVerify, .writeSame, .compareAndWrite, .orWrite: return .write
        case .synchronizeCache: return .flush
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
