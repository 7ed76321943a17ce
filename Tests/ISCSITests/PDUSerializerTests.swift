import ISCSI
import NIOCore
import XCTest

final class PDUSerializerTests: XCTestCase {
    func testHeaderWithoutDigestIsFortyEightBytes() {
        let h = BasicHeaderSegment(opcodeByte: 0x21, flags: 0x80, initiatorTaskTag: 5)
        var out = ByteBuffer()
        PDUSerializer().writeHeader(h, into: &out)
        XCTAssertEqual(out.allBytes, h.wireBytes)
    }

    func testHeaderDigestIsAppendedLittleEndian() throws {
        // The RFC 3720 B.4 read command: its CRC goes on the wire as 56 3a 96 d9.
        let h = try XCTUnwrap(BasicHeaderSegment.peek(from: ByteBuffer(bytes: CRC32CTests.rfcReadCommandPDU)))
        var out = ByteBuffer()
        PDUSerializer(headerDigest: true).writeHeader(h, into: &out)
        let bytes = out.allBytes
        XCTAssertEqual(bytes.count, 52)
        XCTAssertEqual(Array(bytes[0..<48]), CRC32CTests.rfcReadCommandPDU)
        XCTAssertEqual(Array(bytes[48..<52]), [0x56, 0x3a, 0x96, 0xd9])
    }

    func testHeaderDigestIsComputedOverTheHeaderOnlyWhenAppending() throws {
        // Appending after existing content: the digest covers only the new header.
        let h = BasicHeaderSegment(opcodeByte: 0x25, flags: 0x81, byte3: 0, dataSegmentLength: 3, initiatorTaskTag: 77)
        var out = ByteBuffer()
        out.writeBytes([1, 2, 3, 4, 5])
        PDUSerializer(headerDigest: true).writeHeader(h, into: &out)
        let bytes = out.allBytes
        XCTAssertEqual(bytes.count, 5 + 52)
        XCTAssertEqual(Array(bytes[53..<57]), littleEndianBytes(referenceCRC32C(h.wireBytes)))
        // ...and the parser accepts it.
        out.moveReaderIndex(forwardBy: 5)
        out.writeBytes([0xa, 0xb, 0xc, 0])
        let pdu = try XCTUnwrap(try PDUParser(headerDigest: true).parse(&out))
        XCTAssertEqual(pdu.header, h)
        XCTAssertEqual(pdu.data.allBytes, [0xa, 0xb, 0xc])
    }

    func testTrailerPadsDataToFourBytes() {
        let serializer = PDUSerializer()
        for (length, pad) in [(1, 3), (2, 2), (3, 1), (4, 0), (5, 3), (8, 0)] {
            var out = ByteBuffer()
            serializer.writeTrailer(for: ByteBuffer(bytes: [UInt8](repeating: 0xaa, count: length)), into: &out)
            XCTAssertEqual(out.allBytes, [UInt8](repeating: 0, count: pad), "length \(length)")
        }
    }

    func testTrailerWithDataDigestCoversPadding() {
        let data: [UInt8] = [0x10, 0x20, 0x30, 0x40, 0x50]
        var out = ByteBuffer()
        PDUSerializer(dataDigest: true).writeTrailer(for: ByteBuffer(bytes: data), into: &out)
        XCTAssertEqual(out.allBytes, [0, 0, 0] + littleEndianBytes(referenceCRC32C(data + [0, 0, 0])))
    }

    func testTrailerDigestUsesTheReadableBytesOfASlice() {
        // The data segment is usually a slice of a larger buffer with a non-zero reader index.
        var big = ByteBuffer(bytes: [0xff, 0xfe, 0xfd, 1, 2, 3, 4, 5, 6, 0xfc])
        big.moveReaderIndex(forwardBy: 3)
        let slice = big.getSlice(at: 3, length: 6)!
        var fromBig = big
        fromBig.moveWriterIndex(to: 9)
        var a = ByteBuffer()
        var b = ByteBuffer()
        let s = PDUSerializer(dataDigest: true)
        s.writeTrailer(for: slice, into: &a)
        s.writeTrailer(for: fromBig, into: &b)
        let expected = [0, 0] + littleEndianBytes(referenceCRC32C([1, 2, 3, 4, 5, 6, 0, 0]))
        XCTAssertEqual(a.allBytes, expected)
        XCTAssertEqual(b.allBytes, expected)
    }

    func testTrailerIsEmptyWithoutData() {
        var out = ByteBuffer()
        PDUSerializer(headerDigest: true, dataDigest: true).writeTrailer(for: ByteBuffer(), into: &out)
        XCTAssertEqual(out.readableBytes, 0)
    }

    func testSerializeSetsDataSegmentLength() throws {
        let h = BasicHeaderSegment(opcodeByte: 0x24, flags: 0x80, dataSegmentLength: 9999, initiatorTaskTag: 1)
        var out = ByteBuffer()
        PDUSerializer().serialize(h, data: ByteBuffer(bytes: Array("Key=Value\0".utf8)), into: &out)
        XCTAssertEqual(out.readableBytes, 48 + 12)
        let bytes = out.allBytes
        XCTAssertEqual(Array(bytes[5...7]), [0, 0, 10])
        XCTAssertEqual(Array(bytes[58...59]), [0, 0], "padding is zero")

        var none = ByteBuffer()
        PDUSerializer().serialize(h, data: nil, into: &none)
        XCTAssertEqual(none.readableBytes, 48)
        XCTAssertEqual(Array(none.allBytes[5...7]), [0, 0, 0])
    }

    func testSerializeParseRoundTripWithDigests() throws {
        for (hd, dd) in [(false, false), (true, false), (false, true), (true, true)] {
            let serializer = PDUSerializer(headerDigest: hd, dataDigest: dd)
            let parser = PDUParser(headerDigest: hd, dataDigest: dd, maxDataSegmentLength: 65536)
            var rng = SeededGenerator(seed: 42)
            var stream = ByteBuffer()
            var sent: [(BasicHeaderSegment, [UInt8])] = []
            for (i, length) in [0, 1, 2, 3, 4, 5, 47, 48, 1000, 8192, 65536].enumerated() {
                let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                var h = BasicHeaderSegment(opcodeByte: 0x25, flags: 0x80, byte3: UInt8(i), lunOrSpecific: UInt64(i) << 48,
                                           initiatorTaskTag: UInt32(i), word20: 0xffff_ffff, word24: UInt32(100 + i),
                                           word36: UInt32(i), word40: UInt32(i * 512))
                serializer.serialize(h, data: ByteBuffer(bytes: data), into: &stream)
                h.dataSegmentLength = UInt32(length)
                sent.append((h, data))
            }
            var received: [PDU] = []
            while let pdu = try parser.parse(&stream) { received.append(pdu) }
            XCTAssertEqual(stream.readableBytes, 0, "hd \(hd) dd \(dd)")
            XCTAssertEqual(received.count, sent.count)
            for (pdu, (h, data)) in zip(received, sent) {
                XCTAssertEqual(pdu.header, h)
                XCTAssertEqual(pdu.data.allBytes, data)
            }
        }
    }

    func testSplitHeaderAndTrailerEqualsSerialize() {
        // The zero-copy path (header, data buffer, trailer written separately) must produce
        // the same bytes as serialize().
        let data = ByteBuffer(bytes: Array(0..<13).map { UInt8($0) })
        var h = BasicHeaderSegment(opcodeByte: 0x25, flags: 0x80, initiatorTaskTag: 3)
        let s = PDUSerializer(headerDigest: true, dataDigest: true)
        var whole = ByteBuffer()
        s.serialize(h, data: data, into: &whole)
        h.dataSegmentLength = 13
        var pieces = ByteBuffer()
        s.writeHeader(h, into: &pieces)
        var copy = data
        pieces.writeBuffer(&copy)
        s.writeTrailer(for: data, into: &pieces)
        XCTAssertEqual(pieces.allBytes, whole.allBytes)
        XCTAssertEqual(whole.readableBytes, 48 + 4 + 16 + 4)
    }

    func testFrameSendsLongSegmentsUncopiedAndShortOnesInline() {
        let s = PDUSerializer(headerDigest: false, dataDigest: true)
        let h = BasicHeaderSegment(opcodeByte: 0x25, flags: 0x80, initiatorTaskTag: 3)
        let long = ByteBuffer(bytes: [UInt8](repeating: 0x5A, count: 4098))
        let frame = s.frame(h, data: long, allocator: ByteBufferAllocator())
        XCTAssertEqual(frame.head.readableBytes, 48, "the header alone")
        XCTAssertEqual(frame.head.getBytes(at: 5, length: 3), [0x00, 0x10, 0x02], "DataSegmentLength 4098")
        XCTAssertEqual(frame.data, long, "the segment itself, uncopied")
        XCTAssertEqual(frame.trailer?.readableBytes, 2 + 4, "padding, then the data digest")
        var whole = ByteBuffer()
        s.serialize(h, data: long, into: &whole)
        var pieces = frame.head
        pieces.writeImmutableBuffer(frame.data!)
        pieces.writeImmutableBuffer(frame.trailer!)
        XCTAssertEqual(whole.allBytes, pieces.allBytes, "serialize writes what goes on the wire")
        let short = s.frame(h, data: ByteBuffer(bytes: [1, 2, 3]), allocator: ByteBufferAllocator())
        XCTAssertNil(short.data)
        XCTAssertEqual(short.head.readableBytes, 48 + 4 + 4, "inline: data, padding, digest")
        let aligned = PDUSerializer().frame(h, data: ByteBuffer(bytes: [UInt8](repeating: 1, count: 4096)),
                                            allocator: ByteBufferAllocator())
        XCTAssertNil(aligned.trailer, "no padding, no digest: nothing after the data")
    }
}
