import NIOCore

/// Where a LU keeps its persistent reservations when an initiator asks for them to survive
/// power loss (PERSISTENT RESERVE OUT with APTPL): `<state dir>/<target>-lun<N>.pr`, beside
/// the RAID1 health files. The payload is opaque here (the SCSI module's snapshot, with its
/// own magic and checksum); this file only keeps it whole across crashes.
///
/// A `TwoSlotFile`, like the mirror health file. Slot layout (little-endian):
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
    private let file: TwoSlotFile

    /// `<directory>/<target section name>-lun<N>.pr` (section names are path-safe).
    public static func path(directory: String, target: String, lun: UInt64) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + "\(target)-lun\(lun).pr"
    }

    public init(path: String, owner: String, opener: FileOpener = DirectFileOpener()) throws(StorageError) {
        self.path = path
        self.owner = Array(owner.utf8.prefix(Int(UInt16.max)))
        let (file, newest) = try TwoSlotFile.open(path, slotSize: Self.slotSize, opener: opener) { slot in
            Self.parse(slot).map { ($0.sequence, (owner: $0.owner, payload: $0.payload)) }
        }
        self.file = file
        if let newest, newest.owner == self.owner {
            loaded = newest.payload
            foreignOwner = nil
        } else {
            loaded = nil
            foreignOwner = newest.map { String(decoding: $0.owner, as: UTF8.self) }
        }
    }


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
        guard Self.headerSize + owner.count + payload.count + 8 <= Self.slotSize else {
            return eventLoop.makeFailedFuture(StorageError.stateFile(
                path: path, problem: "\(payload.count) bytes of reservations do not fit in a \(Self.slotSize)-byte slot"))
        }
        return file.save(on: eventLoop) { [owner] in Self.render(owner: owner, payload: payload, sequence: $0) }
    }

    /// Finishes queued saves and closes the file.
    public func close() { file.close() }
}
