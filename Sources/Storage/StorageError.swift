/// Failures of a backing store, with what a storage admin needs to find the problem.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    case open(path: String, errno: Int32)
    case notARegularFileOrBlockDevice(path: String)
    case sliceOutOfBounds(device: String, offset: UInt64, size: UInt64, deviceSize: UInt64)
    case sizeRequired(path: String)
    case misaligned(device: String, size: UInt64, blockSize: Int)
    case io(device: String, operation: String, offset: UInt64, length: Int, errno: Int32)
    case shortTransfer(device: String, operation: String, offset: UInt64, expected: Int, transferred: Int)
    case outOfRange(device: String, offset: UInt64, length: Int, size: UInt64)
    case closed(device: String)
    /// A combination that cannot be built from its members (named by the combination).
    case combination(name: String, problem: String)
    /// A RAID1 with no healthy member left to serve the request (MEDIUM ERROR for the LU).
    case noHealthyMember(device: String, operation: String)
    /// A RAID1 state file (write-intent bitmap or member health) that cannot be used.
    case stateFile(path: String, problem: String)
    /// An I/O engine that cannot work on this device (O_DIRECT refused, tmpfs...).
    case engineUnsupported(device: String, engine: String, problem: String)
    /// A reload asked for a size the device cannot take.
    case resize(device: String, problem: String)
    /// The device cannot serve now (its cluster is unreachable, its library missing); it
    /// may later. Initiators get NOT READY rather than a medium error.
    case unavailable(device: String, reason: String)

    public var description: String {
        switch self {
        case let .open(path, e):
            return "cannot open \(path): \(errnoText(e))"
        case let .notARegularFileOrBlockDevice(path):
            return "\(path) is neither a regular file nor a block device"
        case let .sliceOutOfBounds(device, offset, size, deviceSize):
            return "device \(device): offset \(offset) + size \(size) lies beyond the end of the backing store (\(deviceSize) bytes)"
        case let .sizeRequired(path):
            return "\(path) does not exist; give `size` and `create yes` to create it"
        case let .misaligned(device, size, blockSize):
            return "device \(device): size \(size) is not a multiple of the block size \(blockSize)"
        case let .io(device, op, offset, length, e):
            return "device \(device): \(op) of \(length) bytes at offset \(offset) failed: \(errnoText(e))"
        case let .shortTransfer(device, op, offset, expected, transferred):
            return "device \(device): \(op) at offset \(offset) transferred \(transferred) of \(expected) bytes (backing store shrunk?)"
        case let .outOfRange(device, offset, length, size):
            return "device \(device): \(length) bytes at offset \(offset) lie beyond its size \(size)"
        case let .closed(device):
            return "device \(device) is closed"
        case let .combination(name, problem):
            return "combination \(name): \(problem)"
        case let .noHealthyMember(device, op):
            return "combination \(device): \(op) failed: no healthy member left"
        case let .stateFile(path, problem):
            return "\(path): \(problem)"
        case let .engineUnsupported(device, engine, problem):
            return "device \(device): engine \(engine): \(problem)"
        case let .resize(device, problem):
            return "device \(device): \(problem)"
        case let .unavailable(device, reason):
            return "device \(device): \(reason)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

func errnoText(_ e: Int32) -> String {
    guard let s = strerror(e) else { return "errno \(e)" }
    return "\(String(cString: s)) (errno \(e))"
}
