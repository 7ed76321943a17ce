import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// A small state file that survives torn writes: two slots of `slotSize` bytes; each save
/// writes slot `sequence mod 2` with one pwrite and fdatasync, so a crash spoils at most the
/// slot being written and the other still holds the previous state. What a slot holds (and
/// how a valid one is told from a torn one) is the caller's format; this type keeps the
/// sequence, picks the newest valid slot at open, and runs saves in call order on the file's
/// own thread. The RAID1 health files and the persistent-reservation files use it.
final class TwoSlotFile: @unchecked Sendable {
    let path: String
    let slotSize: Int
    private let fd: Int32
    private let workers: IOWorkers
    private let lock = NIOLock()
    private var sequence: UInt64
    private var isClosed = false

    /// Opens (creating when missing) and returns the newest slot `parse` accepts, with its
    /// sequence, or nil when neither slot is valid.
    static func open<Content>(_ path: String, slotSize: Int, opener: FileOpener,
                              parse: (ArraySlice<UInt8>) -> (sequence: UInt64, content: Content)?)
        throws(StorageError) -> (file: TwoSlotFile, newest: Content?) {
        let fd = try StateFileIO.open(path, opener: opener)
        let bytes: [UInt8]
        do {
            bytes = try StateFileIO.read(fd, count: 2 * slotSize, at: 0, path: path)
        } catch {
            Glibc.close(fd)
            throw error
        }
        var best: (sequence: UInt64, content: Content)?
        for start in stride(from: 0, to: min(bytes.count, 2 * slotSize), by: slotSize) {
            if let parsed = parse(bytes[start..<min(bytes.count, start + slotSize)]),
               parsed.sequence >= best?.sequence ?? 0 {
                best = parsed
            }
        }
        return (TwoSlotFile(path: path, slotSize: slotSize, fd: fd, sequence: best?.sequence ?? 0), best?.content)
    }

    private init(path: String, slotSize: Int, fd: Int32, sequence: UInt64) {
        self.path = path
        self.slotSize = slotSize
        self.fd = fd
        self.sequence = sequence
        self.workers = IOWorkers(threads: 1, name: path)
    }

    deinit { close() }

    /// Queues the next slot, `render(sequence)`, on the file's thread (saves run in call order,
    /// so callers that queue them in the order of their changes get the last state on disk).
    func save(on eventLoop: EventLoop, _ render: (UInt64) -> [UInt8]) -> EventLoopFuture<Void> {
        lock.lock()
        defer { lock.unlock() }
        if isClosed { return eventLoop.makeFailedFuture(StorageError.closed(device: path)) }
        sequence += 1
        let bytes = render(sequence)
        let offset = Int(sequence % 2) * slotSize
        let (fd, path) = (self.fd, self.path)
        return workers.submit(on: eventLoop) { () throws -> Void in
            try StateFileIO.write(fd, bytes, at: offset, path: path)
        }
    }

    /// The same, blocking the caller (open and close time only).
    func saveNow(_ render: (UInt64) -> [UInt8]) throws(StorageError) {
        let (bytes, offset): ([UInt8], Int) = lock.withLock {
            sequence += 1
            return (render(sequence), Int(sequence % 2) * slotSize)
        }
        try StateFileIO.write(fd, bytes, at: offset, path: path)
    }

    /// Finishes queued saves, runs `last` (a final blocking save) and closes the file.
    func close(then last: (() -> Void)? = nil) {
        let first: Bool = lock.withLock {
            defer { isClosed = true }
            return !isClosed
        }
        guard first else { return }
        workers.shutdown()
        last?()
        Glibc.close(fd)
    }
}
