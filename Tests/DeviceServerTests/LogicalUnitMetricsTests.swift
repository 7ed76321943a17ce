@testable import DeviceServer
import NIOCore
import NIOEmbedded
import NIOPosix
import SCSI
import Storage
import XCTest

final class LogicalUnitMetricsTests: XCTestCase {
    /// Runs `cdb` through `fixture`'s LU and counts its answer as a transport does.
    private func runCounted(_ fixture: DeviceServerFixture, _ cdb: [UInt8], expected: Int, dataOut: [UInt8] = [],
                            latency: UInt64 = 1_000) throws -> SCSICompletion {
        let context = CommandContext(lunList: [0], expectedDataTransferLength: UInt32(expected), portalGroupTag: 1,
                                     nexus: DeviceServerFixture.nexus)
        let command = fixture.unit.prepare(CDB(cdb), context: context)
        command.unit?.metrics.executionStarted(on: fixture.loop)
        let future = command.execute(dataOut: dataOut.isEmpty ? [] : [ByteBuffer(bytes: dataOut)],
                                     task: DeviceServerFixture.Task(), services: fixture.services, on: fixture.loop)
        fixture.loop.run()
        let completion = try future.wait()
        command.unit?.metrics.executionEnded(on: fixture.loop)
        command.account(completion, latencyNanoseconds: latency, on: fixture.loop)
        return completion
    }

    func testCommandsAreCountedByClassWithTheirBytes() throws {
        let fixture = try DeviceServerFixture()
        // The first command takes the POWER ON unit attention: an error of key 6, class other.
        _ = try runCounted(fixture, [0x00, 0, 0, 0, 0, 0], expected: 0)
        _ = try runCounted(fixture, DeviceServerFixture.write10(lba: 0, blocks: 8), expected: 4096,
                           dataOut: [UInt8](repeating: 1, count: 4096), latency: 300_000)
        _ = try runCounted(fixture, DeviceServerFixture.read10(lba: 0, blocks: 4), expected: 2048, latency: 50_000)
        _ = try runCounted(fixture, DeviceServerFixture.read10(lba: 0, blocks: 4), expected: 1024, latency: 20_000_000_000)
        _ = try runCounted(fixture, [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], expected: 0)  // SYNCHRONIZE CACHE(10)
        // Out of range: CHECK CONDITION, ILLEGAL REQUEST before any I/O; still a read (by its
        // operation code), one that moved nothing.
        _ = try runCounted(fixture, DeviceServerFixture.read10(lba: 100_000, blocks: 1), expected: 512)
        // WRITE SAME(10) of 16 blocks from one block of data: 16 blocks written.
        _ = try runCounted(fixture, [0x41, 0, 0, 0, 0, 0, 0, 0, 16, 0], expected: 512,
                           dataOut: [UInt8](repeating: 2, count: 512))

        let c = fixture.unit.metrics.snapshot()
        XCTAssertEqual(c.commands(.read), 3)
        XCTAssertEqual(c.commands(.write), 2)
        XCTAssertEqual(c.commands(.flush), 1)
        XCTAssertEqual(c.commands(.other), 1)
        XCTAssertEqual(c.readBytes, 2048 + 1024, "Data-In as sent: cut to the expected length")
        XCTAssertEqual(c.writtenBytes, 4096 + 16 * 512)
        XCTAssertEqual(c.errorsBySenseKey[Int(SenseKey.unitAttention.rawValue)], 1)
        XCTAssertEqual(c.errorsBySenseKey[Int(SenseKey.illegalRequest.rawValue)], 1)
        XCTAssertEqual(c.errorsBySenseKey.reduce(0, +), 2)
        XCTAssertEqual(c.inFlight, 0)
        let reads = c.latency[LogicalUnitMetrics.CommandClass.read.rawValue]
        XCTAssertEqual(reads.count, 3)
        XCTAssertEqual(reads.buckets[0], 2, "50 µs and 1 µs (the refused read) fall in the first bucket (<= 100 µs)")
        XCTAssertEqual(reads.buckets.last, 1, "20 s is above every bound")
        XCTAssertEqual(reads.sumNanoseconds, 50_000 + 20_000_000_000 + 1_000)
        XCTAssertEqual(c.latency[LogicalUnitMetrics.CommandClass.write.rawValue].count, 2)
        XCTAssertEqual(c.latency[LogicalUnitMetrics.CommandClass.flush.rawValue].count, 1)
    }

    func testBucketBoundsAreInclusive() {
        let table: [(UInt64, Int)] = [
            (0, 0), (100_000, 0), (100_001, 1), (250_000, 1), (1_000_000, 3), (10_000_000_000, 15),
            (10_000_000_001, 16), (UInt64.max, 16),
        ]
        for (nanoseconds, bucket) in table {
            XCTAssertEqual(LogicalUnitMetrics.bucket(of: nanoseconds), bucket, "\(nanoseconds) ns")
        }
    }

    func testEachLoopCountsInItsOwnSlabAndTheSnapshotSumsThem() {
        let loops = [EmbeddedEventLoop(), EmbeddedEventLoop()]
        let stranger = EmbeddedEventLoop()
        let metrics = LogicalUnitMetrics(slots: LoopSlots(loops: loops))
        XCTAssertEqual(LoopSlots(loops: loops).index(of: loops[1]), 1)
        XCTAssertEqual(LoopSlots(loops: loops).index(of: stranger), 2, "an unknown loop counts in the shared slab")
        for (i, loop) in (loops + [stranger]).enumerated() {
            for _ in 0...i {
                metrics.executionStarted(on: loop)
                metrics.record(.write, bytes: 4096, latencyNanoseconds: 1, status: .good, senseKey: nil, on: loop)
            }
        }
        metrics.executionEnded(on: loops[0])
        metrics.record(.other, bytes: 0, latencyNanoseconds: 1, status: .reservationConflict, senseKey: nil, on: loops[1])
        let c = metrics.snapshot()
        XCTAssertEqual(c.commands(.write), 6)
        XCTAssertEqual(c.writtenBytes, 6 * 4096)
        XCTAssertEqual(c.inFlight, 5)
        XCTAssertEqual(c.reservationConflicts, 1)
        XCTAssertEqual(c.latency[LogicalUnitMetrics.CommandClass.write.rawValue].count, 6)
    }

    func testConcurrentCountingLosesNothing() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        let loops = Array(group.makeIterator())
        let metrics = LogicalUnitMetrics(slots: LoopSlots(loops: loops))
        let perLoop = 20_000
        let done = loops.map { loop in
            loop.submit {
                for _ in 0..<perLoop {
                    metrics.record(.read, bytes: 512, latencyNanoseconds: 1_000, status: .good, senseKey: nil, on: loop)
                }
            }
        }
        // Reads while the loops count see monotonic totals.
        var last: UInt64 = 0
        for _ in 0..<100 {
            let now = metrics.snapshot().commands(.read)
            XCTAssertGreaterThanOrEqual(now, last)
            last = now
        }
        for future in done { try future.wait() }
        XCTAssertEqual(metrics.snapshot().commands(.read), UInt64(2 * perLoop))
        XCTAssertEqual(metrics.snapshot().readBytes, UInt64(2 * perLoop * 512))
    }
}
