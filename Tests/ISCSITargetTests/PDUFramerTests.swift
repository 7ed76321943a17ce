import ISCSI
import NIOCore
import XCTest

@testable import ISCSITarget

/// The receive framing as a value: every way a stream can be cut into reads gives the same
/// PDUs, and a PDU a read cut in two costs a copy of that PDU only.
final class PDUFramerTests: XCTestCase {
    private let allocator = ByteBufferAllocator()

    /// NOP-Outs with data of the given lengths (0 included: no data segment, no data digest).
    private func stream(_ lengths: [Int], headerDigest: Bool, dataDigest: Bool) -> (ByteBuffer, [PDU]) {
        let serializer = PDUSerializer(headerDigest: headerDigest, dataDigest: dataDigest)
        var wire = allocator.buffer(capacity: 0)
        var pdus: [PDU] = []
        for (i, length) in lengths.enumerated() {
            var header = BasicHeaderSegment(opcodeByte: 0x40, flags: 0x80, initiatorTaskTag: UInt32(i + 1), word24: UInt32(i))
            header.dataSegmentLength = UInt32(length)
            var data = allocator.buffer(capacity: length)
            data.writeBytes((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) })
            serializer.serialize(header, data: length > 0 ? data : nil, into: &wire)
            pdus.append(PDU(header: header, data: data))
        }
        return (wire, pdus)
    }

    private func framer(headerDigest: Bool, dataDigest: Bool) -> PDUFramer {
        var framer = PDUFramer()
        framer.parser = PDUParser(headerDigest: headerDigest, dataDigest: dataDigest, maxDataSegmentLength: 262_144)
        return framer
    }

    /// Feeds `wire` in reads of the given sizes (the last one repeats) and collects the PDUs.
    private func frame(_ wire: ByteBuffer, reads: [Int], into framer: inout PDUFramer) throws -> [PDU] {
        var wire = wire
        var out: [PDU] = []
        var i = 0
        while wire.readableBytes > 0 {
            let size = reads[min(i, reads.count - 1)]
            i += 1
            // Each read is its own storage, as NIO's receive buffers are.
            var read = allocator.buffer(capacity: size)
            var piece = wire.readSlice(length: min(size, wire.readableBytes))!
            read.writeBuffer(&piece)
            framer.append(read)
            while let pdu = try framer.next() { out.append(pdu) }
            framer.endOfBatch(allocator: allocator)
        }
        return out
    }

    func testEveryCutGivesTheSamePDUs() throws {
        let lengths = [0, 1, 4096, 3, 65_536, 0, 130, 48, 8192]
        let cases: [(reads: [Int], headerDigest: Bool, dataDigest: Bool)] = [
            ([1], false, false), ([7], true, true), ([47], false, false), ([48], true, false),
            ([49], false, true), ([777], true, true), ([4144], false, false), ([65_536], false, false),
            ([65_584], true, true), ([1 << 20], false, false), ([100, 60_000, 5], true, true),
            ([48, 4096, 1, 1, 70_000], false, false),
        ]
        for c in cases {
            let (wire, expected) = stream(lengths, headerDigest: c.headerDigest, dataDigest: c.dataDigest)
            var f = framer(headerDigest: c.headerDigest, dataDigest: c.dataDigest)
            let got = try frame(wire, reads: c.reads, into: &f)
            let label = "reads \(c.reads) digests \(c.headerDigest)/\(c.dataDigest)"
            XCTAssertEqual(got.map(\.header), expected.map(\.header), label)
            XCTAssertEqual(got.map(\.data), expected.map(\.data), label)
            XCTAssertEqual(f.pendingBytes, 0, label)
        }
    }

    func testAPDUCutInTwoIsTheOnlyOneCopied() throws {
        // Read 1: a whole 4 KiB PDU and the first 100 bytes of the second. Read 2: the rest of
        // the second and two whole PDUs. The two whole PDUs of read 2 must be slices of read 2.
        let (wire, expected) = stream([4096, 4096, 4096, 4096], headerDigest: false, dataDigest: false)
        let pduBytes = 48 + 4096
        var f = framer(headerDigest: false, dataDigest: false)
        var rest = wire
        var first = allocator.buffer(capacity: pduBytes + 100)
        var piece = rest.readSlice(length: pduBytes + 100)!
        first.writeBuffer(&piece)
        f.append(first)
        var got: [PDU] = []
        while let pdu = try f.next() { got.append(pdu) }
        f.endOfBatch(allocator: allocator)
        XCTAssertEqual(got.count, 1)
        XCTAssertEqual(f.pendingBytes, 100)

        var second = allocator.buffer(capacity: rest.readableBytes)
        second.writeBuffer(&rest)
        let readRange = second.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!)..<UInt(bitPattern: $0.baseAddress! + $0.count) }
        f.append(second)
        while let pdu = try f.next() { got.append(pdu) }
        f.endOfBatch(allocator: allocator)
        XCTAssertEqual(got.map(\.data), expected.map(\.data))
        func address(_ pdu: PDU) -> UInt { pdu.data.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!) } }
        XCTAssertFalse(readRange.contains(address(got[1])), "the cut PDU was completed in the framer's own buffer")
        XCTAssertTrue(readRange.contains(address(got[2])), "a whole PDU of the read is parsed where the read put it")
        XCTAssertTrue(readRange.contains(address(got[3])))
    }

    func testHeaderAnnouncingTooMuchDataFailsOnceItsHeaderIsComplete() throws {
        var header = BasicHeaderSegment(opcodeByte: 0x40, flags: 0x80, initiatorTaskTag: 9)
        header.dataSegmentLength = 262_148
        var wire = allocator.buffer(capacity: 48)
        header.write(to: &wire)
        var f = framer(headerDigest: false, dataDigest: false)
        var part = allocator.buffer(capacity: 20)
        part.writeImmutableBuffer(wire.getSlice(at: 0, length: 20)!)
        f.append(part)
        XCTAssertNil(try f.next())
        f.endOfBatch(allocator: allocator)
        var tail = allocator.buffer(capacity: 1000)
        tail.writeImmutableBuffer(wire.getSlice(at: 20, length: 28)!)
        tail.writeBytes([UInt8](repeating: 0, count: 900))
        f.append(tail)
        XCTAssertThrowsError(try f.next()) { error in
            guard case .dataSegmentTooLong? = error as? ISCSIError else { return XCTFail("\(error)") }
        }
    }

    /// Half a header in a large receive buffer (a connection that then goes quiet) keeps only
    /// a buffer of about its own size, not the 64 KiB the read came in.
    func testAPartialHeaderDoesNotPinItsReceiveBuffer() {
        var f = framer(headerDigest: false, dataDigest: false)
        var read = allocator.buffer(capacity: 65_536)
        read.writeBytes([UInt8](repeating: 0x01, count: 22))
        f.append(read)
        XCTAssertNil(try f.next())
        f.endOfBatch(allocator: allocator)
        XCTAssertEqual(f.pendingBytes, 22)
        XCTAssertLessThanOrEqual(f.pendingStorage, 4096, "the 22 bytes moved to a buffer of their own")
    }
}
