import Glibc
import NIOCore
import NIOPosix
@testable import Storage
import XCTest

/// Which queued writes become one call (a pure plan), and the worker carrying it out on a
/// real file: merged runs write what separate calls would, and a failed merge still names
/// each write's own range.
final class WriteMergingTests: StorageTestCase {
    private typealias Shape = WriteMerging.Shape

    private func w(_ offset: UInt64, _ length: Int, fd: Int32 = 3, pieces: Int = 1, dsync: Bool = false) -> Shape? {
        Shape(fd: fd, offset: offset, length: length, pieces: pieces, dsync: dsync)
    }

    func testRunsTable() {
        let k4 = 4096
        let max = WriteMerging.maxBytes
        let cases: [(String, [Shape?], [Range<Int>])] = [
            ("empty", [], []),
            ("one write merges with nothing", [w(0, k4)], []),
            ("two that continue each other", [w(0, k4), w(4096, k4)], [0..<2]),
            ("a stream of 32", (0..<32).map { w(UInt64($0 * k4), k4) }, [0..<32]),
            ("a gap ends the run", [w(0, k4), w(4096, k4), w(12288, k4), w(16384, k4)], [0..<2, 2..<4]),
            ("backwards is not merged", [w(4096, k4), w(0, k4)], []),
            ("overlap is not merged", [w(0, k4), w(2048, k4)], []),
            ("another file", [w(0, k4), w(4096, k4, fd: 4)], []),
            ("FUA and plain writes apart", [w(0, k4), w(4096, k4, dsync: true), w(8192, k4, dsync: true)], [1..<3]),
            ("a read between", [w(0, k4), nil, w(4096, k4), w(8192, k4)], [2..<4]),
            ("up to maxBytes", [w(0, max - k4), w(UInt64(max - k4), k4), w(UInt64(max), k4)], [0..<2]),
            ("one write of maxBytes alone", [w(0, max), w(UInt64(max), k4), w(UInt64(max + k4), k4)], [1..<3]),
            ("iovec limit", [w(0, k4, pieces: WriteMerging.maxPieces - 1), w(4096, k4, pieces: 1), w(8192, k4, pieces: 1)], [0..<2]),
        ]
        for (name, shapes, expected) in cases {
            XCTAssertEqual(WriteMerging.runs(shapes), expected, name)
        }
    }

    /// The event loop's attempt without waiting: whatever it could not write goes to the
    /// worker from exactly where it stopped (a short write inside the first buffer once sent
    /// the whole first buffer again, from the shifted position).
    func testWriteWithoutWaitingHandsOnExactlyWhatIsLeft() {
        let a = ByteBuffer(bytes: pattern(4096, seed: 1))
        let b = ByteBuffer(bytes: pattern(2048, seed: 2))
        // (bytes the fake takes per call, in order; -1 = EAGAIN, -2 = EOPNOTSUPP)
        let cases: [(String, [Int], left: [UInt8], position: UInt64, refused: Bool)] = [
            ("all taken", [4096, 2048], [], 1000 + 6144, false),
            ("short in the first buffer", [100], Array(pattern(4096, seed: 1)[100...]) + pattern(2048, seed: 2), 1100, false),
            ("nothing taken", [0], pattern(4096, seed: 1) + pattern(2048, seed: 2), 1000, false),
            ("would block at once", [-1], pattern(4096, seed: 1) + pattern(2048, seed: 2), 1000, false),
            ("first whole, second short", [4096, 48], Array(pattern(2048, seed: 2)[48...]), 1000 + 4096 + 48, false),
            ("not supported", [-2], pattern(4096, seed: 1) + pattern(2048, seed: 2), 1000, true),
        ]
        for (name, takes, left, position, refused) in cases {
            var calls = takes[...]
            var written: [(UInt64, Int)] = []
            let result = PositionalWrite.writeWithoutWaiting([a, b], at: 1000) { bytes, at in
                let take = calls.popFirst() ?? -1
                if take == -1 { errno = EAGAIN; return -1 }
                if take == -2 { errno = EOPNOTSUPP; return -1 }
                written.append((at, take))
                return min(take, bytes.count)
            }
            XCTAssertEqual(result.rest.flatMap { Array($0.readableBytesView) }, left, name)
            XCTAssertEqual(result.position, position, name)
            XCTAssertEqual(result.refused, refused, name)
            // Each call started where the previous one ended.
            var expectedAt: UInt64 = 1000
            for (at, n) in written {
                XCTAssertEqual(at, expectedAt, name)
                expectedAt += UInt64(n)
            }
        }
    }

    /// A write made on one loop while another loop's wake-up is pending is not held for it.
    func testAWriteFromAnotherLoopDoesNotWaitForThePendingWakeUp() throws {
        let p = try makeFile("two.img", size: 65536)
        let fd = try openFile(p, O_RDWR)
        defer { close(fd) }
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? loops.syncShutdownGracefully() }
        let (a, b) = (loops.next(), loops.next())
        XCTAssertFalse(a === b)
        let workers = IOWorkers(threads: 1, name: "two")
        defer { workers.shutdown() }
        try workers.submit(on: a) { 0 }.wait()  // threads started, the worker goes to sleep
        let bytes = pattern(4096, seed: 5)
        let gate = DispatchGate()
        // Loop a submits a write (its wake-up deferred to its next task) and then stays busy
        // until the write from loop b has completed: b's write must not wait for a's task.
        let fromA = try a.submit { () -> EventLoopFuture<Void> in
            let mine = workers.submitWrite(fd: fd, offset: 0, buffers: [ByteBuffer(bytes: bytes)], dsync: false, on: a)
            gate.wait()
            return mine
        }
        let fromB = try b.submit {
            workers.submitWrite(fd: fd, offset: 8192, buffers: [ByteBuffer(bytes: bytes)], dsync: false, on: b)
        }.wait()
        // With one wake-up slot for the whole pool this waited for loop a, which waits for
        // it: a failure after the timeout, not a hang (the gate opens either way).
        let done = expectation(description: "the write from loop b completed")
        fromB.whenComplete { _ in done.fulfill() }
        wait(for: [done], timeout: 10)
        gate.open()
        try fromB.wait()
        try fromA.wait().wait()
        XCTAssertEqual(preadFile(p, offset: 8192, length: 4096), bytes)
        XCTAssertEqual(preadFile(p, offset: 0, length: 4096), bytes)
    }

    private func openFile(_ path: String, _ flags: Int32) throws -> Int32 {
        let fd = open(path, flags)
        guard fd >= 0 else { throw StorageError.io(device: path, operation: "open", offset: 0, length: 0, errno: errno) }
        return fd
    }

    /// Holds the single worker so that everything submitted meanwhile lands in one batch.
    /// Returns once the worker is inside the holding request: had it taken its batch after
    /// some of the test's writes were queued, those would run as a batch of their own.
    private func blockWorker(_ workers: IOWorkers) -> (release: () -> Void, done: EventLoopFuture<Void>) {
        let (entered, gate) = (DispatchGate(), DispatchGate())
        let done = workers.submit(on: loop) {
            entered.open()
            gate.wait()
        }
        entered.wait()
        return ({ gate.open() }, done)
    }

    func testQueuedSequentialWritesLandAsTheyWouldOneByOne() throws {
        let p = try makeFile("merge.img", size: 1 << 20, byte: 0xee)
        let fd = try openFile(p, O_RDWR)
        defer { close(fd) }
        let workers = IOWorkers(threads: 1, name: "merge")
        defer { workers.shutdown() }
        let (release, held) = blockWorker(workers)
        // 48 writes of 4 KiB in order, three of them in two pieces, then a read, then a write
        // that continues the stream (not merged across the read), then one that overlaps an
        // earlier write (applied after it).
        var expected = [UInt8](repeating: 0xee, count: 1 << 20)
        var futures: [EventLoopFuture<Void>] = []
        for i in 0..<48 {
            let bytes = pattern(4096, seed: i)
            expected.replaceSubrange(i * 4096..<(i + 1) * 4096, with: bytes)
            let buffers = i % 20 == 7
                ? [ByteBuffer(bytes: bytes[..<1000]), ByteBuffer(bytes: bytes[1000...])]
                : [ByteBuffer(bytes: bytes)]
            futures.append(workers.submitWrite(fd: fd, offset: UInt64(i * 4096), buffers: buffers, dsync: false, on: loop))
        }
        let readBetween = workers.submit(on: loop) { () -> [UInt8] in
            var out = [UInt8](repeating: 0, count: 4096)
            _ = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 4096, 47 * 4096) }
            return out
        }
        let after = pattern(4096, seed: 100)
        expected.replaceSubrange(48 * 4096..<49 * 4096, with: after)
        futures.append(workers.submitWrite(fd: fd, offset: 48 * 4096, buffers: [ByteBuffer(bytes: after)], dsync: false, on: loop))
        let overlapping = pattern(4096, seed: 200)
        expected.replaceSubrange(2048..<6144, with: overlapping)
        futures.append(workers.submitWrite(fd: fd, offset: 2048, buffers: [ByteBuffer(bytes: overlapping)], dsync: true, on: loop))
        release()
        try held.wait()
        for f in futures { try f.wait() }
        XCTAssertEqual(try readBetween.wait(), pattern(4096, seed: 47), "the read saw the writes queued before it")
        XCTAssertEqual(preadFile(p, offset: 0, length: 1 << 20), expected)
        // The 48 were one call; the write after the read and the FUA one went on their own.
        XCTAssertEqual(workers.mergedCalls.load(ordering: .relaxed), 1)
        XCTAssertEqual(workers.mergedWrites.load(ordering: .relaxed), 48)
    }

    /// Writes made on an event loop wake the worker only after that loop task: none may be
    /// left behind, whether the worker was asleep, busy, or woken by a read meanwhile.
    func testWritesSubmittedOnALoopAllComplete() throws {
        let p = try makeFile("loop.img", size: 1 << 20)
        let fd = try openFile(p, O_RDWR)
        defer { close(fd) }
        let workers = IOWorkers(threads: 1, name: "loop")
        defer { workers.shutdown() }
        let loop = self.loop
        var expected = [UInt8](repeating: 0, count: 1 << 20)
        for round in 0..<20 {
            let futures = try loop.submit { () -> [EventLoopFuture<Void>] in
                (0..<32).map { i in
                    let at = (round * 32 + i) * 1024
                    if i == 16 { _ = workers.submit(on: loop) { 0 } }  // a read-like request wakes at once
                    return workers.submitWrite(fd: fd, offset: UInt64(at), buffers: [ByteBuffer(bytes: self.pattern(1024, seed: at))],
                                               dsync: false, on: loop)
                }
            }.wait()
            for i in 0..<32 {
                let at = (round * 32 + i) * 1024
                expected.replaceSubrange(at..<at + 1024, with: pattern(1024, seed: at))
            }
            try EventLoopFuture.andAllSucceed(futures, on: loop).wait()
        }
        XCTAssertEqual(preadFile(p, offset: 0, length: 1 << 20), expected)
    }

    func testAFailedMergedWriteFailsEachWriteWithItsOwnRange() throws {
        let p = try makeFile("ro.img", size: 65536)
        let fd = try openFile(p, O_RDONLY)
        defer { close(fd) }
        let workers = IOWorkers(threads: 1, name: "ro")
        defer { workers.shutdown() }
        let (release, held) = blockWorker(workers)
        let futures = (0..<4).map { i in
            workers.submitWrite(fd: fd, offset: UInt64(i * 4096), buffers: [ByteBuffer(bytes: pattern(4096, seed: i))], dsync: false, on: loop)
        }
        release()
        try held.wait()
        for (i, f) in futures.enumerated() {
            XCTAssertEqual(failure(f), .io(device: "ro", operation: "write", offset: UInt64(i * 4096), length: 4096, errno: EBADF))
        }
        XCTAssertEqual(preadFile(p, offset: 0, length: 16384), [UInt8](repeating: 0, count: 16384))
    }
}

/// A one-shot gate a worker thread waits on.
private final class DispatchGate: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var isOpen = false

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    func wait() {
        pthread_mutex_lock(&mutex)
        while !isOpen { pthread_cond_wait(&condition, &mutex) }
        pthread_mutex_unlock(&mutex)
    }

    func open() {
        pthread_mutex_lock(&mutex)
        isOpen = true
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }
}
