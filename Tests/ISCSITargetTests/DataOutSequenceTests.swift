import ISCSI
import NIOCore
@testable import ISCSITarget
import XCTest

/// The Data-Out bookkeeping of one command, with plain values: no connection, no LU.
final class DataOutSequenceTests: XCTestCase {
    func bytes(_ count: Int, _ value: UInt8 = 7) -> ByteBuffer { ByteBuffer(bytes: [UInt8](repeating: value, count: count)) }

    func r2ts(_ sequence: inout DataOutSequence, maxBurst: Int, maxOutstanding: Int,
              firstTag: UInt32 = 100) -> [DataOutSequence.ReadyToTransfer] {
        var tag = firstTag
        var sent: [DataOutSequence.ReadyToTransfer] = []
        sequence.solicit(maxBurst: maxBurst, maxOutstanding: maxOutstanding,
                         nextTag: { defer { tag += 1 }; return tag }, send: { sent.append($0) })
        return sent
    }

    /// A small piece that waits for the rest of its command is copied out of the receive
    /// buffer it came in (else 512 bytes would keep 64 KiB alive); the piece that completes the
    /// command, and a large one, stay slices (no copy on the write path).
    func testWaitingSmallPiecesDoNotPinTheirReceiveBuffer() {
        var receive = ByteBuffer(bytes: [UInt8](repeating: 3, count: 65_536))
        let small = receive.readSlice(length: 512)!
        let last = receive.readSlice(length: 512)!
        var seq = DataOutSequence(expectedLength: 1024, unsolicitedLength: 1024)
        seq.receiveImmediate(small)
        XCTAssertEqual(seq.chunks.first?.storageCapacity, 512, "the waiting piece was copied out")
        XCTAssertEqual(seq.receive(last, offset: 512, dataSN: 0, targetTransferTag: reservedTag, isFinal: true), .accepted)
        XCTAssertEqual(seq.chunks.last?.storageCapacity, 65_536, "the completing piece stays a slice")
        XCTAssertEqual(seq.chunks.map(\.readableBytes), [512, 512])
        XCTAssertTrue(seq.hasAllData)

        var large = ByteBuffer(bytes: [UInt8](repeating: 4, count: 65_536))
        var bigSeq = DataOutSequence(expectedLength: 131_072, unsolicitedLength: 65_536)
        bigSeq.receiveImmediate(large.readSlice(length: 8192)!)
        XCTAssertEqual(bigSeq.chunks.first?.storageCapacity, 65_536, "an eighth of its buffer: kept as a slice")
    }

    func testBurstsFollowMaxBurstLengthAndMaxOutstandingR2T() {
        var seq = DataOutSequence(expectedLength: 20_000, unsolicitedLength: 0)
        seq.plan(20_000)
        XCTAssertEqual(r2ts(&seq, maxBurst: 8192, maxOutstanding: 2), [
            .init(targetTransferTag: 100, r2tSN: 0, offset: 0, length: 8192),
            .init(targetTransferTag: 101, r2tSN: 1, offset: 8192, length: 8192),
        ])
        XCTAssertEqual(r2ts(&seq, maxBurst: 8192, maxOutstanding: 2), [], "two outstanding: no more until one ends")
        XCTAssertEqual(seq.receive(bytes(4096), offset: 0, dataSN: 0, targetTransferTag: 100, isFinal: false), .accepted)
        XCTAssertEqual(seq.receive(bytes(4096), offset: 4096, dataSN: 1, targetTransferTag: 100, isFinal: true), .accepted)
        XCTAssertEqual(r2ts(&seq, maxBurst: 8192, maxOutstanding: 2, firstTag: 102), [
            .init(targetTransferTag: 102, r2tSN: 2, offset: 16_384, length: 3616),
        ], "the last burst is what is left")
        XCTAssertEqual(seq.receive(bytes(8192), offset: 8192, dataSN: 0, targetTransferTag: 101, isFinal: true), .accepted)
        XCTAssertFalse(seq.hasAllData)
        XCTAssertEqual(seq.receive(bytes(3616), offset: 16_384, dataSN: 0, targetTransferTag: 102, isFinal: true), .accepted)
        XCTAssertTrue(seq.hasAllData)
        XCTAssertEqual(seq.kept, 20_000)
        XCTAssertEqual(seq.chunks.count, 4, "slices as they arrived, no copy")
    }

    func testUnsolicitedFirstBurstThenR2TsForTheRest() {
        var seq = DataOutSequence(expectedLength: 16_384, unsolicitedLength: 8192)
        seq.receiveImmediate(bytes(4096))
        XCTAssertEqual(seq.receive(bytes(4096), offset: 4096, dataSN: 0, targetTransferTag: reservedTag, isFinal: true),
                       .accepted)
        seq.plan(16_384)
        XCTAssertEqual(r2ts(&seq, maxBurst: 65_536, maxOutstanding: 1),
                       [.init(targetTransferTag: 100, r2tSN: 0, offset: 8192, length: 8192)])
    }

    func testDataBeyondWhatTheLUTakesIsCountedNotKept() {
        var seq = DataOutSequence(expectedLength: 4096, unsolicitedLength: 4096)
        seq.receiveImmediate(bytes(4096))
        seq.plan(1024)
        XCTAssertEqual(seq.kept, 1024)
        XCTAssertEqual(seq.chunks.map(\.readableBytes), [1024])
        XCTAssertTrue(seq.hasAllData)
        XCTAssertEqual(r2ts(&seq, maxBurst: 8192, maxOutstanding: 1), [], "nothing left to ask for")
    }

    func testProtocolErrorsAndBrokenSequences() {
        var seq = DataOutSequence(expectedLength: 8192, unsolicitedLength: 1024)
        seq.plan(8192)
        _ = r2ts(&seq, maxBurst: 4096, maxOutstanding: 1)
        guard case .protocolError = seq.receive(bytes(512), offset: 1024, dataSN: 0, targetTransferTag: 999, isFinal: true)
        else { return XCTFail("unknown TTT") }
        guard case .protocolError = seq.receive(bytes(2048), offset: 0, dataSN: 0, targetTransferTag: reservedTag,
                                                isFinal: true)
        else { return XCTFail("unsolicited beyond the first burst") }
        guard case .protocolError = seq.receive(bytes(4096), offset: 2048, dataSN: 0, targetTransferTag: 100,
                                                isFinal: true)
        else { return XCTFail("beyond its burst") }
        XCTAssertEqual(seq.receive(bytes(512), offset: 1024, dataSN: 3, targetTransferTag: 100, isFinal: false),
                       .outOfSequence(dataSN: 3, expected: 0))
        guard case .protocolError = seq.receive(bytes(512), offset: 1536, dataSN: 1, targetTransferTag: 100,
                                                isFinal: false)
        else { return XCTFail("offset ahead of what arrived") }
        XCTAssertEqual(seq.kept, 0, "nothing of a broken sequence is kept")
    }
}
