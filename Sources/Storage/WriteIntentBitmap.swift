import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// One bit per region of a RAID1 (1 MiB by default): set while the members may differ in
/// that region. A bit is set, and made durable, before the first mirrored write into a clean
/// region is issued; it is cleared lazily, once every member is healthy, the region has no
/// write in flight and the members have been flushed. After a crash the set bits are the
/// only regions the members can disagree on, and while a member is failed the bits keep
/// every region it missed, so a returning member is resynced by copying those regions only.
///
/// File format, version 1 (all integers little-endian):
///
///     offset  size  field
///          0     8  magic "TARGEWIB"
///          8     4  version = 1
///         12     4  reserved, 0
///         16     8  region size in bytes
///         24     8  device (mirror) size in bytes
///         32     8  region count = ceil(device size / region size)
///         40  4056  reserved, 0 (the header is one 4 KiB block)
///       4096     …  the bits: region r is bit (r mod 8) of byte 4096 + r div 8; 1 = dirty
///
/// The header is written once, when the file is created; afterwards only the bytes whose
/// bits changed are rewritten, then fdatasync'ed. A torn write of bits is harmless: bits are
/// set before the data they protect is written and cleared only when the members agree.
/// A header written for another device size makes every region dirty (the members cannot be
/// trusted to agree); a file with another region size is converted (every new region that
/// overlaps an old dirty one is dirty). Without a path the bitmap lives in memory only.
public final class WriteIntentBitmap: @unchecked Sendable {
    public static let defaultRegionSize: UInt64 = 1 << 20
    static let magic = Array("TARGEWIB".utf8)
    static let version: UInt64 = 1
    static let headerSize = 4096

    /// What opening found.
    public enum Origin: Sendable, Equatable {
        /// No path: nothing persists.
        case memory
        /// The file did not exist (or was empty): every region clean.
        case created
        /// The file was read as written.
        case loaded
        /// The file had another region size; its dirty regions were carried over.
        case converted(fromRegionSize: UInt64)
        /// The file described another device size: every region is dirty.
        case reset(reason: String)
    }

    public let path: String?
    public let regionSize: UInt64
    public let regionCount: Int
    public let deviceSize: UInt64
    public let origin: Origin

    private let lock = NIOLock()
    private var bits: [UInt8]
    private var setCount = 0
    private var fd: Int32
    /// Bumped by every change; `durable` is the generation last written and synced.
    private var generation: UInt64 = 0
    private var lastSetGeneration: UInt64 = 0
    private var durable: UInt64 = 0
    /// Bytes of `bits` changed since the last snapshot taken for writing.
    private var changed: Range<Int>?
    private var persisting = false
    private var waiters: [(generation: UInt64, promise: EventLoopPromise<Void>)] = []
    private let workers: IOWorkers?

    /// Opens the bitmap at `path` (creating it when missing) or, with no path, an in-memory one.
    public init(path: String?, deviceSize: UInt64, regionSize: UInt64 = defaultRegionSize,
                opener: FileOpener = DirectFileOpener()) throws(StorageError) {
        guard regionSize > 0 else { throw .stateFile(path: path ?? "bitmap", problem: "region size must not be 0") }
        self.path = path
        self.deviceSize = deviceSize
        self.regionSize = regionSize
        let count = Int((deviceSize + regionSize - 1) / regionSize)
        self.regionCount = count
        self.bits = [UInt8](repeating: 0, count: (count + 7) / 8)
        guard let path else {
            self.fd = -1
            self.workers = nil
            self.origin = .memory
            return
        }
        let fd = try StateFileIO.open(path, opener: opener)
        self.fd = fd
        self.workers = IOWorkers(threads: 1, name: path)
        do throws(StorageError) {
            let (origin, loaded) = try Self.load(fd: fd, path: path, deviceSize: deviceSize, regionSize: regionSize, count: count)
            self.origin = origin
            if let loaded {
                bits = loaded
            } else if case .reset = origin {
                for r in 0..<count { bits[r / 8] |= 1 << UInt8(r % 8) }
            }
            if count % 8 != 0 { bits[bits.count - 1] &= UInt8((1 << (count % 8)) - 1) }
            setCount = bits.reduce(0) { $0 + $1.nonzeroBitCount }
            if origin != .loaded {
                // Write the header (and the bits) for this geometry.
                var header = [UInt8](repeating: 0, count: Self.headerSize)
                header.replaceSubrange(0..<8, with: Self.magic)
                StateFileIO.le(Self.version, into: &header, at: 8, width: 4)
                StateFileIO.le(regionSize, into: &header, at: 16)
                StateFileIO.le(deviceSize, into: &header, at: 24)
                StateFileIO.le(UInt64(count), into: &header, at: 32)
                if ftruncate(fd, off_t(Self.headerSize + bits.count)) != 0 {
                    throw StorageError.stateFile(path: path, problem: "cannot size: \(errnoText(errno))")
                }
                try StateFileIO.write(fd, bits, at: Self.headerSize, path: path, sync: false)
                try StateFileIO.write(fd, header, at: 0, path: path)
            }
        } catch {
            Glibc.close(fd)
            workers?.shutdown()
            throw error
        }
    }

    deinit { close() }

    /// Reads the file: nil bits when it is new, else the bits for `count` regions of `regionSize`.
    private static func load(fd: Int32, path: String, deviceSize: UInt64, regionSize: UInt64, count: Int) throws(StorageError) -> (Origin, [UInt8]?) {
        let fileSize = try StateFileIO.fileSize(fd, path: path)
        let header = try StateFileIO.read(fd, count: headerSize, at: 0, path: path)
        // Empty, or created and never finished (a crash before the header was synced: no
        // mirrored write can have been issued yet).
        if fileSize == 0 || header.allSatisfy({ $0 == 0 }) { return (.created, nil) }
        guard header.count >= 40, Array(header[0..<8]) == magic else {
            throw .stateFile(path: path, problem: "not a Targe write-intent bitmap")
        }
        let version = StateFileIO.le(header, at: 8, width: 4)
        guard version == Self.version else {
            throw .stateFile(path: path, problem: "write-intent bitmap version \(version) is not supported (expected \(Self.version))")
        }
        let oldRegion = StateFileIO.le(header, at: 16)
        let oldDevice = StateFileIO.le(header, at: 24)
        let oldCount = StateFileIO.le(header, at: 32)
        guard oldRegion > 0, oldCount == (oldDevice + oldRegion - 1) / oldRegion, oldCount <= UInt64(Int32.max) else {
            throw .stateFile(path: path, problem: "write-intent bitmap header is inconsistent")
        }
        if oldDevice != deviceSize {
            return (.reset(reason: "the bitmap was written for \(oldDevice) bytes, the mirror now has \(deviceSize)"), nil)
        }
        let byteCount = Int((oldCount + 7) / 8)
        var old = try StateFileIO.read(fd, count: byteCount, at: headerSize, path: path)
        // A file cut short: what is missing may have been dirty.
        let missing = byteCount - old.count
        if missing > 0 { old.append(contentsOf: [UInt8](repeating: 0xff, count: missing)) }
        if oldRegion == regionSize { return (missing > 0 ? .reset(reason: "bitmap file truncated") : .loaded, old) }
        var bits = [UInt8](repeating: 0, count: (count + 7) / 8)
        for r in 0..<Int(oldCount) where old[r / 8] & (1 << UInt8(r % 8)) != 0 {
            let start = UInt64(r) * oldRegion
            let end = min(start + oldRegion, deviceSize)
            for n in Int(start / regionSize)...Int((end - 1) / regionSize) {
                bits[n / 8] |= 1 << UInt8(n % 8)
            }
        }
        return (.converted(fromRegionSize: oldRegion), bits)
    }

    /// The regions a request touches (empty for length 0).
    public func regions(offset: UInt64, length: Int) -> Range<Int> {
        guard length > 0 else { return 0..<0 }
        return Int(offset / regionSize)..<Int((offset + UInt64(length) - 1) / regionSize + 1)
    }

    /// The byte range of a region on the mirror.
    public func range(of region: Int) -> (offset: UInt64, length: Int) {
        let start = UInt64(region) * regionSize
        return (start, Int(min(regionSize, deviceSize - start)))
    }

    public func isDirty(_ region: Int) -> Bool {
        lock.withLock { bits[region / 8] & (1 << UInt8(region % 8)) != 0 }
    }

    public var dirtyCount: Int { lock.withLock { setCount } }

    /// The dirty regions in ascending order.
    public var dirtyRegions: [Int] {
        lock.withLock {
            var out: [Int] = []
            out.reserveCapacity(setCount)
            for (i, byte) in bits.enumerated() where byte != 0 {
                for b in 0..<8 where byte & (1 << UInt8(b)) != 0 { out.append(i * 8 + b) }
            }
            return out
        }
    }

    private func noteChangedLocked(_ byte: Int) {
        if let c = changed {
            changed = min(c.lowerBound, byte)..<max(c.upperBound, byte + 1)
        } else {
            changed = byte..<(byte + 1)
        }
    }

    /// Sets the bits of `regions`; the future succeeds once they are on stable storage (at
    /// once when they already were). It fails when the file cannot be written.
    public func markDirty(_ regions: Range<Int>, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let start: (() -> Void)?
        let future: EventLoopFuture<Void>
        lock.lock()
        var newly = false
        for r in regions where bits[r / 8] & (1 << UInt8(r % 8)) == 0 {
            bits[r / 8] |= 1 << UInt8(r % 8)
            setCount += 1
            noteChangedLocked(r / 8)
            newly = true
        }
        if newly {
            generation += 1
            lastSetGeneration = generation
        }
        if fd < 0 || durable >= lastSetGeneration {
            lock.unlock()
            return eventLoop.makeSucceededVoidFuture()
        }
        (start, future) = waitLocked(for: lastSetGeneration, on: eventLoop)
        lock.unlock()
        start?()
        return future
    }

    /// Sets every bit (a member that must be copied in full); durable when the future succeeds.
    public func markAllDirty(on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        markDirty(0..<regionCount, on: eventLoop)
    }

    /// Clears bits in memory; `sync` (or a later `markDirty`) writes them out.
    public func clear(_ regions: some Sequence<Int>) {
        lock.withLock {
            var any = false
            for r in regions where bits[r / 8] & (1 << UInt8(r % 8)) != 0 {
                bits[r / 8] &= ~(1 << UInt8(r % 8))
                setCount -= 1
                noteChangedLocked(r / 8)
                any = true
            }
            if any { generation += 1 }
        }
    }

    /// Writes every change made so far; succeeds at once with nothing to write.
    public func sync(on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        lock.lock()
        if fd < 0 || durable >= generation {
            lock.unlock()
            return eventLoop.makeSucceededVoidFuture()
        }
        let (start, future) = waitLocked(for: generation, on: eventLoop)
        lock.unlock()
        start?()
        return future
    }

    /// Registers a waiter for `target`; returns the persist to start outside the lock, if any.
    private func waitLocked(for target: UInt64, on eventLoop: EventLoop) -> ((() -> Void)?, EventLoopFuture<Void>) {
        let promise = eventLoop.makePromise(of: Void.self)
        waiters.append((target, promise))
        return (persisting ? nil : beginPersistLocked(on: eventLoop), promise.futureResult)
    }

    /// Takes a snapshot of the changed bytes and returns the job writing it.
    private func beginPersistLocked(on eventLoop: EventLoop) -> (() -> Void)? {
        guard let workers, let path, fd >= 0 else { return nil }
        persisting = true
        let target = generation
        let range = changed ?? 0..<0
        let bytes = Array(bits[range])
        changed = nil
        let fd = self.fd
        return {
            workers.submit(on: eventLoop) { () throws -> Void in
                try StateFileIO.write(fd, bytes, at: Self.headerSize + range.lowerBound, path: path)
            }.whenComplete { result in
                self.persisted(target, range: range, result: result, on: eventLoop)
            }
        }
    }

    private func persisted(_ target: UInt64, range: Range<Int>, result: Result<Void, Error>, on eventLoop: EventLoop) {
        var ready: [EventLoopPromise<Void>] = []
        var failed: [EventLoopPromise<Void>] = []
        lock.lock()
        persisting = false
        switch result {
        case .success:
            durable = max(durable, target)
            waiters.removeAll { w in
                if w.generation <= durable { ready.append(w.promise); return true }
                return false
            }
        case .failure:
            // Write these bytes again next time; fail whoever waited for this snapshot.
            if !range.isEmpty {
                noteChangedLocked(range.lowerBound)
                noteChangedLocked(range.upperBound - 1)
            }
            waiters.removeAll { w in
                if w.generation <= target { failed.append(w.promise); return true }
                return false
            }
        }
        var again: (() -> Void)?
        if !waiters.isEmpty {
            again = beginPersistLocked(on: eventLoop)
            if again == nil {
                // Closed: nobody will write these any more.
                failed += waiters.map(\.promise)
                waiters = []
            }
        }
        lock.unlock()
        for p in ready { p.succeed() }
        if !failed.isEmpty {
            let error: Error
            if case let .failure(e) = result { error = e } else { error = StorageError.closed(device: path ?? "bitmap") }
            for p in failed { p.fail(error) }
        }
        again?()
    }

    /// Finishes pending writes, writes the whole bitmap once more and closes the file.
    public func close() {
        lock.lock()
        guard fd >= 0 else { return lock.unlock() }
        lock.unlock()
        workers?.shutdown()  // runs what is queued first
        lock.lock()
        let fd = self.fd
        self.fd = -1
        let bytes = bits
        let dirty = changed != nil
        lock.unlock()
        if dirty, let path { try? StateFileIO.write(fd, bytes, at: Self.headerSize, path: path) }
        Glibc.close(fd)
    }

    /// Sets every bit and writes the file before returning (blocking; for open time only).
    func markAllDirtyNow() throws(StorageError) {
        lock.lock()
        for r in 0..<regionCount { bits[r / 8] |= 1 << UInt8(r % 8) }
        setCount = regionCount
        generation += 1
        lastSetGeneration = generation
        let bytes = bits
        let fd = self.fd
        lock.unlock()
        guard fd >= 0, let path else { return }
        try StateFileIO.write(fd, bytes, at: Self.headerSize, path: path)
        lock.withLock { durable = max(durable, lastSetGeneration); changed = nil }
    }
}
