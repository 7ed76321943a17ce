@testable import DeviceServer
import NIOCore
import SCSI
import Storage
import XCTest

/// The device server as a transport sees it: what to collect, and how each command ends.
final class DeviceServerTests: XCTestCase {
    typealias F = DeviceServerFixture

    func testFirstCommandOfANexusFindsPowerOnUnitAttention() throws {
        let lu = try F()
        let (plan, completion) = try lu.run([0x00, 0, 0, 0, 0, 0], expected: 0)
        XCTAssertEqual(plan, .none)
        XCTAssertEqual(completion.status, .checkCondition)
        XCTAssertEqual(ParsedSense(completion.sense), ParsedSense(key: 0x06, asc: 0x29, ascq: 0x00))
        XCTAssertEqual(try lu.run([0x00, 0, 0, 0, 0, 0], expected: 0).completion, .good(commandLength: 0, expected: 0))
    }

    func testWriteTakesItsDataInPiecesAndReadReturnsIt() throws {
        let lu = try F()
        try lu.ready()
        let data = (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let write = try lu.run(F.write10(lba: 2, blocks: 2), expected: 1024, dataOut: data, chunkSize: 300)
        XCTAssertEqual(write.plan, .dataOut(length: 1024))
        XCTAssertEqual(write.completion.status, .good)
        XCTAssertEqual(write.completion.residual, .none)
        let read = try lu.run(F.read10(lba: 2, blocks: 2), expected: 1024)
        XCTAssertEqual(read.plan, .none)
        XCTAssertEqual(read.completion.dataIn.map { Array($0.readableBytesView) }, data)
        XCTAssertEqual(read.completion.residual, .none)
    }

    func testPlanAndResidualsFollowTheExpectedLength() throws {
        let lu = try F()
        try lu.ready()
        // The initiator expects less than the CDB names: only that much moves (overflow).
        let short = try lu.run(F.write10(lba: 0, blocks: 8), expected: 1024, dataOut: Array(repeating: 1, count: 1024))
        XCTAssertEqual(short.plan, .dataOut(length: 1024))
        XCTAssertEqual(short.completion.residual, .overflow(3072))
        let readShort = try lu.run(F.read10(lba: 0, blocks: 4), expected: 1024)
        XCTAssertEqual(readShort.completion.dataIn?.readableBytes, 1024)
        XCTAssertEqual(readShort.completion.residual, .overflow(1024))
        // More than the CDB names: underflow.
        let readLong = try lu.run(F.read10(lba: 0, blocks: 2), expected: 4096)
        XCTAssertEqual(readLong.completion.dataIn?.readableBytes, 1024)
        XCTAssertEqual(readLong.completion.residual, .underflow(3072))
        // A zero-block READ moves nothing and is GOOD.
        let none = try lu.run(F.read10(lba: 0, blocks: 0), expected: 0)
        XCTAssertNil(none.completion.dataIn)
        XCTAssertEqual(none.completion.status, .good)
    }

    func testOutOfRangeLBAIsRefusedBeforeAnyData() throws {
        let lu = try F(blocks: 64)
        try lu.ready()
        let write = try lu.run(F.write10(lba: 63, blocks: 2), expected: 1024, dataOut: Array(repeating: 9, count: 1024))
        XCTAssertEqual(write.plan, .none, "nothing to collect for a command that fails")
        XCTAssertEqual(write.completion.status, .checkCondition)
        XCTAssertEqual(ParsedSense(write.completion.sense), ParsedSense(key: 0x05, asc: 0x21, ascq: 0x00))
        XCTAssertEqual(write.completion.residual, .underflow(1024))
        let read = try lu.run(F.read10(lba: 63, blocks: 1), expected: 512)
        XCTAssertEqual(read.completion.dataIn?.readableBytes, 512)
        XCTAssertEqual(Array(read.completion.dataIn!.readableBytesView), Array(repeating: 0, count: 512),
                       "the refused write left no trace")
    }

    func testCompareAndWriteWritesOnlyWhenTheMediumMatches() throws {
        let lu = try F()
        try lu.ready()
        let old = Array(repeating: UInt8(0xAA), count: 512), new = Array(repeating: UInt8(0x55), count: 512)
        XCTAssertEqual(try lu.run(F.write10(lba: 5, blocks: 1), expected: 512, dataOut: old).completion.status, .good)
        var wrong = old
        wrong[100] = 0
        let miss = try lu.run(F.compareAndWrite(lba: 5, blocks: 1), expected: 1024, dataOut: wrong + new)
        XCTAssertEqual(miss.plan, .dataOut(length: 1024))
        XCTAssertEqual(ParsedSense(miss.completion.sense), ParsedSense(key: 0x0E, asc: 0x1D, ascq: 0x00))
        XCTAssertEqual(Array(miss.completion.sense![3...6]), [0, 0, 0, 100], "INFORMATION: the first differing byte")
        XCTAssertEqual(try lu.run(F.read10(lba: 5, blocks: 1), expected: 512).completion.dataIn.map { Array($0.readableBytesView) }, old)
        let hit = try lu.run(F.compareAndWrite(lba: 5, blocks: 1), expected: 1024, dataOut: old + new)
        XCTAssertEqual(hit.completion, .good(commandLength: 1024, expected: 1024))
        XCTAssertEqual(try lu.run(F.read10(lba: 5, blocks: 1), expected: 512).completion.dataIn.map { Array($0.readableBytesView) }, new)
    }

    func testMissingLUNAnswersInquiryAndRefusesTheRest() throws {
        let lu = try F()
        let context = CommandContext(lunList: [0], expectedDataTransferLength: 96, portalGroupTag: 1, nexus: F.nexus)
        let inquiry = PreparedCommand.forMissingLUN(CDB([0x12, 0, 0, 0, 96, 0]), context: context)
        let answer = try inquiry.execute(dataOut: [], task: F.Task(), services: lu.services, on: lu.loop).wait()
        XCTAssertEqual(answer.dataIn?.getInteger(at: 0, as: UInt8.self), 0x7F, "peripheral qualifier 3, type 1Fh")
        let read = PreparedCommand.forMissingLUN(CDB(F.read10(lba: 0, blocks: 1)), context: context)
        XCTAssertEqual(read.transfer, .none)
        let refused = try read.execute(dataOut: [], task: F.Task(), services: lu.services, on: lu.loop).wait()
        XCTAssertEqual(ParsedSense(refused.sense), ParsedSense(key: 0x05, asc: 0x25, ascq: 0x00))
    }

    func testStorageFailuresEndInMediumErrors() throws {
        let lu = try F(device: VanishedDevice())
        try lu.ready()
        let write = try lu.run(F.write10(lba: 0, blocks: 1), expected: 512, dataOut: Array(repeating: 1, count: 512))
        XCTAssertEqual(ParsedSense(write.completion.sense), ParsedSense(key: 0x03, asc: 0x0C, ascq: 0x00))
        let read = try lu.run(F.read10(lba: 0, blocks: 1), expected: 512)
        XCTAssertEqual(ParsedSense(read.completion.sense), ParsedSense(key: 0x03, asc: 0x11, ascq: 0x00))
        XCTAssertNil(read.completion.dataIn)
        let sync = try lu.run([0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], expected: 0)
        XCTAssertEqual(ParsedSense(sync.completion.sense), ParsedSense(key: 0x03, asc: 0x0C, ascq: 0x00))
    }

    func testWriteSameFillsTheRangeWithOneBlock() throws {
        let lu = try F()
        try lu.ready()
        let block = (0..<512).map { UInt8(truncatingIfNeeded: $0) }
        // WRITE SAME(10), LBA 10, 3 blocks.
        let same = try lu.run([0x41, 0, 0, 0, 0, 10, 0, 0, 3, 0], expected: 512, dataOut: block)
        XCTAssertEqual(same.plan, .dataOut(length: 512))
        XCTAssertEqual(same.completion.status, .good)
        let read = try lu.run(F.read10(lba: 10, blocks: 3), expected: 1536)
        XCTAssertEqual(read.completion.dataIn.map { Array($0.readableBytesView) }, block + block + block)
    }

    func testWriteSameWithoutDataOutNeedsNoDataAndWritesZeros() throws {
        let lu = try F()
        try lu.ready()
        XCTAssertEqual(try lu.run(F.write10(lba: 20, blocks: 2), expected: 1024,
                                  dataOut: Array(repeating: 7, count: 1024)).completion.status, .good)
        // WRITE SAME(16) with NDOB, LBA 20, 2 blocks: nothing to collect, zeros written.
        let ndob = try lu.run([0x93, 0x01] + F.be(UInt64(20)) + F.be(UInt32(2)) + [0, 0], expected: 0)
        XCTAssertEqual(ndob.plan, .none)
        XCTAssertEqual(ndob.completion, .good(commandLength: 0, expected: 0))
        let read = try lu.run(F.read10(lba: 20, blocks: 2), expected: 1024)
        XCTAssertEqual(read.completion.dataIn.map { Array($0.readableBytesView) }, Array(repeating: 0, count: 1024))
    }
}
