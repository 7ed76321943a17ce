import Foundation
import Glibc
import NIOCore
import NIOPosix
@testable import Storage
import XCTest

/// Random-read IOPS of the aio and buffered engines, printed, never asserted. Runs only with
/// TARGE_AIO_BENCH=1 (it writes a 1 GiB file): `TARGE_AIO_BENCH=1 swift test --filter AIOBenchmark`.
final class AIOBenchmarkTests: StorageTestCase {
    final class Run: @unchecked Sendable {
        let device: BlockDevice
        let loop: EventLoop
        let blockSize: Int
        let blocks: UInt64
        let deadline: NIODeadline
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var completed = 0
        var failed = 0
        var running = 0
        let done: EventLoopPromise<Int>

        init(device: BlockDevice, loop: EventLoop, blockSize: Int, seconds: Int64) {
            self.device = device
            self.loop = loop
            self.blockSize = blockSize
            self.blocks = device.size / UInt64(blockSize)
            self.deadline = .now() + .seconds(seconds)
            self.done = loop.makePromise()
        }

        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state % blocks * UInt64(blockSize)
        }

        var issuing = false

        func issue() {
            running += 1
            issuing = true
            defer { issuing = false }
            device.read(offset: next(), length: blockSize, on: loop).whenComplete { result in
                self.running -= 1
                if case .success = result { self.completed += 1 } else { self.failed += 1 }
                if NIODeadline.now() < self.deadline {
                    // A read served inline (buffered, cached) completes inside `issue`: go
                    // round the loop instead of recursing.
                    if self.issuing { self.loop.execute { self.issue() } } else { self.issue() }
                } else if self.running == 0 {
                    self.done.succeed(self.completed)
                }
            }
        }
    }

    private func measure(_ device: BlockDevice, blockSize: Int, depth: Int, seconds: Int64) throws -> Double {
        let loop = self.loop
        let start = NIODeadline.now()
        let run = Run(device: device, loop: loop, blockSize: blockSize, seconds: seconds)
        try loop.submit { for _ in 0..<depth { run.issue() } }.wait()
        let completed = try run.done.futureResult.wait()
        let elapsed = Double((NIODeadline.now() - start).nanoseconds) / 1e9
        XCTAssertEqual(run.failed, 0)
        return Double(completed) / elapsed
    }

    private func dropCache(_ path: String) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return }
        fdatasync(fd)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        close(fd)
    }

    private func warmCache(_ path: String) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while chunk.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    func testRandomReadIOPS() throws {
        guard ProcessInfo.processInfo.environment["TARGE_AIO_BENCH"] == "1" else {
            throw XCTSkip("set TARGE_AIO_BENCH=1 to run the benchmark")
        }
        if AIOFileDeviceTests.isMemoryFileSystem(directory) { throw XCTSkip("needs a disk file system") }
        let size = 1 << 30
        let p = path("bench.img")
        let fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0o600)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        for i in 0..<(size >> 20) {
            for j in stride(from: 0, to: chunk.count, by: 512) { chunk[j] = UInt8(truncatingIfNeeded: i &+ j) }
            XCTAssertEqual(chunk.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(i << 20)) }, 1 << 20)
        }
        fsync(fd)
        close(fd)
        let seconds: Int64 = Int64(ProcessInfo.processInfo.environment["TARGE_AIO_BENCH_SECONDS"] ?? "") ?? 3
        let engine = AIOEngine()
        defer { engine.shutdown() }
        let aio = try DeviceOpener.open(DeviceSpec(name: "aio", source: .path(p), engine: .aio), aioEngine: engine)
        let buffered = try DeviceOpener.open(DeviceSpec(name: "buffered", source: .path(p), engine: .buffered))
        defer { aio.close(); buffered.close() }
        var lines: [String] = []
        func report(_ label: String, _ iops: Double, _ blockSize: Int) {
            let padded = label.padding(toLength: 40, withPad: " ", startingAt: 0)
            let line = "\(padded) \(Int(iops)) IOPS, \(Int(iops * Double(blockSize) / 1048576)) MiB/s"
            lines.append(line)
            print("AIO-BENCH " + line)
        }
        for (blockSize, depth) in [(4096, 32), (131072, 8)] {
            let kind = "\(blockSize / 1024) KiB random read QD\(depth)"
            dropCache(p)
            report("aio      cold \(kind)", try measure(aio, blockSize: blockSize, depth: depth, seconds: seconds), blockSize)
            report("aio      again \(kind)", try measure(aio, blockSize: blockSize, depth: depth, seconds: seconds), blockSize)
            // One second only: the page cache warms up as the run goes.
            dropCache(p)
            report("buffered cold 1s \(kind)", try measure(buffered, blockSize: blockSize, depth: depth, seconds: 1), blockSize)
            warmCache(p)
            report("buffered warm \(kind)", try measure(buffered, blockSize: blockSize, depth: depth, seconds: seconds), blockSize)
        }
        print("AIO-BENCH summary\n" + lines.joined(separator: "\n"))
    }
}
