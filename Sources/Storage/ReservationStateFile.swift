import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// Where a LU keeps its persistent reservations when an initiator asks for them to survive
/// power loss (PERSISTENT RESERVE OUT with APTPL): `<state dir>/<target>-lun<N>.pr`, beside
/// the RAID1 health files. The payload is opaque here (the SCSI module's snapshot, with its
/// own magic and checksum); this file only keeps it whole across crashes.
///
/// Like the mirror health file: two slots of `slotSize` bytes, each save writes slot
/// `sequence mod 2` with one pwrite and fdatasync, so a torn write spoils at most the slot
/// being written; the valid slot with the highest sequence wins. Slot layout (little-endian):
///
///     0   "targe-pr"            8 bytes
///     8   sequence              u64
///     16  owner length          u16
///     18  payload length        u32
///     22  reserved              2 bytes
///     24  owner                 owner length bytes (the LU's serial number)
///     ..  payload               payload length bytes
///     ..  FNV-1a 64 of all the bytes above
///
/// The owner names the LU the reservations belong to: a LUN that the config now maps to
/// another device has another serial, and its old reservations are ignored, not applied to
/// the wrong disk. The file is opened (created empty when missing) once, at start, through
/// the same opener as the devices, so no file is created after the privilege drop.
public final class ReservationStateFile: @unchecked Sendable {
    public static let slotSize = 1 << 20
    static let magic = Array("targe-pr".utf8)
    static let headerSize = 24

    public let path: String
    /// The newest valid payload whose owner matches (nil: none).
    public let loaded: [UInt8]?
    /// Set when a valid slot belonged to another owner (its reservations were ignored).
    public let foreignOwner: String?
    private let owner: [UInt8]
    private let fd: Int32
    private let workers: IOWorkers
    private let lock = NIOLock()
    private var sequence: UInt64
    private var isClosed = false

    /// `<directory>/<target section name>-lun<N>.pr` (section names are path-safe).
    public static func path(directory: String, target: String, lun: UInt64) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + "\(target)-lun\(lun).pr"
    }

    public init(path: String, owner: String, opener: FileOpener = DirectFileOpener()) throws(StorageError) {
        self.path = path
        self.owner = Array(owner.utf8.prefix(Int(UInt16.max)))
        let fd = try StateFileIO.open(path, opener: opener)
        let bytes: [UInt8]
        do {
            bytes = try StateFileIO.read(fd, count: 2 * Self.slotSize, at: 0, path: path)
        } catch {
            Glibc.close(fd)
            throw error
        }
        var best: (sequence: UInt64, owner: [UInt8], payload: [UInt8])?
        for slot in 0..<2 {
            let start = slot * Self.slotSize
            guard start < bytes.count else { break }
            if let parsed = Self.parse(bytes[start..<min(bytes.count, start + Self.slotSize)]),
               parsed.sequence >= best?.sequence ?? 0 {
                best = parsed
            }
        }
        self.fd = fd
        self.sequence = best?.sequence ?? 0
        if let best, best.owner == self.owner {
            loaded = best.payload
            foreignOwner = nil
        } else {
            loaded = nil
            foreignOwner = best.map { String(decoding: $0.owner, as: UTF8.self) }
        }
        workers = IOWorkers(threads: 1, name: path)
    }

    deinit { close() }

    static func parse(_ slot: ArraySlice<UInt8>) -> (sequence: UInt64, owner: [UInt8], payload: [UInt8])? {
        let bytes = Array(slot)
        guard bytes.count >= headerSize + 8, Array(bytes[0..<8]) == magic else { return nil }
        let sequence = StateFileIO.le(bytes, at: 8)
        let ownerLength = Int(StateFileIO.le(bytes, at: 16, width: 2))
        let payloadLength = Int(StateFileIO.le(bytes, at: 18, width: 4))
        let end = headerSize + ownerLength + payloadLength
        guard end + 8 <= bytes.count else { return nil }
        guard StateFileIO.le(bytes, at: end) == StateFileIO.fnv1a(bytes[0..<end]) else { return nil }
        return (sequence, Array(bytes[headerSize..<(headerSize + ownerLength)]),
                Array(bytes[(headerSize + ownerLength)..<end]))
    }

    static func render(owner: [UInt8], payload: [UInt8], sequence: UInt64) -> [UInt8] {
        var bytes = magic + [UInt8](repeating: 0, count: headerSize - magic.count)
        StateFileIO.le(sequence, into: &bytes, at: 8)
        StateFileIO.le(UInt64(owner.count), into: &bytes, at: 16, width: 2)
        StateFileIO.le(UInt64(payload.count), into: &bytes, at: 18, width: 4)
        bytes += owner
        bytes += payload
        var hash = [UInt8](repeating: 0, count: 8)
        StateFileIO.le(StateFileIO.fnv1a(bytes), into: &hash, at: 0)
        return bytes + hash
    }

    /// Writes the next slot on the file's own thread; saves run in call order, so callers
    /// that queue them in the order of their state changes get the last state on disk.
    public func save(_ payload: [UInt8], on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        lock.lock()
        defer { lock.unlock() }
        if isClosed { return eventLoop.makeFailedFuture(StorageError.closed(device: path)) }
        guard Self.headerSize + owner.count + payload.count + 8 <= Self.slotSize else {
            return eventLoop.makeFailedFuture(StorageError.stateFile(
                path: path, problem: "\(payload.count) bytes of reservations do not fit in a \(Self.slotSize)-byte slot"))
        }
        sequence += 1
        let bytes = Self.render(owner: owner, payload: payload, sequence: sequence)
        let offset = Int(sequence % 2) * Self.slotSize
        let (fd, path) = (self.fd, self.path)
        return workers.submit(on: eventLoop) { () throws -> Void in
            try StateFileIO.write(fd, bytes, at: offset, path: path)
        }
    }

    /// Finishes queued saves and closes the file.
    public func close() {
        let first: Bool = lock.withLock {
            defer { isClosed = true }
            return !isClosed
        }
        guard first else { return }
        workers.shutdown()
        Glibc.close(fd)
    }
}
