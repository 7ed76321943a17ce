import ISCSI
import NIOCore
import XCTest

final class PDUParserTests: XCTestCase {
    private func header(opcode: UInt8 = 0x01, itt: UInt32 = 0x1234_5678, ahsWords: UInt8 = 0,
                        dataLength: Int = 0) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: opcode, flags: 0x80, totalAHSLength: ahsWords,
                           dataSegmentLength: UInt32(dataLength), lunOrSpecific: 0x0001_0000_0000_0000,
                           initiatorTaskTag: itt, word20: 0x200, word24: 9, word28: 3)
    }

    /// Hand-assembled wire bytes (independent of PDUSerializer): header, AHS, optional header
    /// digest, data, zero padding, optional data digest.
    private func wire(_ h: BasicHeaderSegment, ahs: [UInt8] = [], data: [UInt8] = [],
                      headerDigest: Bool = false, dataDigest: Bool = false) -> [UInt8] {
        var out = h.wireBytes + ahs
        if headerDigest { out += littleEndianBytes(referenceCRC32C(out)) }
        if !data.isEmpty {
            let padded = data + [UInt8](repeating: 0, count: (4 - data.count % 4) % 4)
            out += padded
            if dataDigest { out += littleEndianBytes(referenceCRC32C(padded)) }
        }
        return out
    }

    // MARK: needing more bytes

    func testEmptyBufferNeedsMore() throws {
        var buffer = ByteBuffer()
        XCTAssertNil(try PDUParser().parse(&buffer))
    }

    func testPartialHeaderNeedsMore() throws {
        let bytes = wire(header())
        for cut in [1, 20, 47] {
            var buffer = ByteBuffer(bytes: bytes[0..<cut])
            XCTAssertNil(try PDUParser().parse(&buffer), "cut at \(cut)")
            XCTAssertEqual(buffer.readableBytes, cut, "nothing consumed")
        }
    }

    func testPartialDataNeedsMore() throws {
        let data: [UInt8] = Array(1...10)
        let bytes = wire(header(dataLength: 10), data: data)
        XCTAssertEqual(bytes.count, 48 + 12)
        for cut in [48, 50, 58, 59] {
            var buffer = ByteBuffer(bytes: bytes[0..<cut])
            XCTAssertNil(try PDUParser().parse(&buffer), "cut at \(cut)")
            XCTAssertEqual(buffer.readableBytes, cut)
        }
        var whole = ByteBuffer(bytes: bytes)
        let pdu = try XCTUnwrap(try PDUParser().parse(&whole))
        XCTAssertEqual(pdu.data.allBytes, data)
        XCTAssertEqual(whole.readableBytes, 0)
    }

    func testPartialHeaderDigestNeedsMore() throws {
        let bytes = wire(header(), headerDigest: true)
        XCTAssertEqual(bytes.count, 52)
        let parser = PDUParser(headerDigest: true)
        for cut in [48, 50, 51] {
            var buffer = ByteBuffer(bytes: bytes[0..<cut])
            XCTAssertNil(try parser.parse(&buffer), "cut at \(cut)")
        }
        var whole = ByteBuffer(bytes: bytes)
        XCTAssertNotNil(try parser.parse(&whole))
    }

    func testPartialDataDigestNeedsMore() throws {
        let data: [UInt8] = [1, 2, 3, 4, 5, 6]
        let bytes = wire(header(dataLength: 6), data: data, dataDigest: true)
        XCTAssertEqual(bytes.count, 48 + 8 + 4)
        let parser = PDUParser(dataDigest: true)
        for cut in [56, 57, 59] {
            var buffer = ByteBuffer(bytes: bytes[0..<cut])
            XCTAssertNil(try parser.parse(&buffer), "cut at \(cut)")
            XCTAssertEqual(buffer.readableBytes, cut)
        }
        var whole = ByteBuffer(bytes: bytes)
        let pdu = try XCTUnwrap(try parser.parse(&whole))
        XCTAssertEqual(pdu.data.allBytes, data)
        XCTAssertEqual(whole.readableBytes, 0)
    }

    // MARK: framing

    func testHeaderOnlyPDU() throws {
        let h = header()
        var buffer = ByteBuffer(bytes: wire(h))
        let pdu = try XCTUnwrap(try PDUParser().parse(&buffer))
        XCTAssertEqual(pdu.header, h)
        XCTAssertNil(pdu.additionalHeader)
        XCTAssertEqual(pdu.data.readableBytes, 0)
        XCTAssertEqual(buffer.readableBytes, 0)
    }

    func testDataIsPaddedToFourBytesOnTheWire() throws {
        let data: [UInt8] = [0xa1, 0xa2, 0xa3, 0xa4, 0xa5]
        let bytes = wire(header(dataLength: 5), data: data)
        XCTAssertEqual(bytes.count, 48 + 8, "5 data bytes occupy 8 on the wire")
        // A following byte shows exactly how much was consumed.
        var buffer = ByteBuffer(bytes: bytes + [0xee])
        let pdu = try XCTUnwrap(try PDUParser().parse(&buffer))
        XCTAssertEqual(pdu.header.dataSegmentLength, 5)
        XCTAssertEqual(pdu.data.allBytes, data, "data excludes the padding")
        XCTAssertEqual(buffer.allBytes, [0xee])
    }

    func testPaddingArithmetic() {
        XCTAssertEqual(paddedLength(0), 0)
        XCTAssertEqual(paddedLength(1), 4)
        XCTAssertEqual(paddedLength(4), 4)
        XCTAssertEqual(paddedLength(5), 8)
        XCTAssertEqual(paddedLength(8191), 8192)
    }

    func testAdditionalHeaderSegmentIsSlicedOut() throws {
        // TotalAHSLength is in 4-byte words (RFC 7143 section 11.2.1.5). An extended-CDB AHS:
        // AHSLength 0x0005, type 1, reserved, then 4 CDB bytes + padding -> 8 bytes = 2 words.
        let ahs: [UInt8] = [0x00, 0x05, 0x01, 0x00, 0xc1, 0xc2, 0xc3, 0xc4]
        let data: [UInt8] = [9, 8, 7]
        let h = header(ahsWords: 2, dataLength: 3)
        for digests in [false, true] {
            var buffer = ByteBuffer(bytes: wire(h, ahs: ahs, data: data, headerDigest: digests, dataDigest: digests))
            let pdu = try XCTUnwrap(try PDUParser(headerDigest: digests, dataDigest: digests).parse(&buffer))
            XCTAssertEqual(pdu.header.totalAHSLength, 2)
            XCTAssertEqual(pdu.additionalHeader?.allBytes, ahs, "digests \(digests)")
            XCTAssertEqual(pdu.data.allBytes, data, "digests \(digests)")
            XCTAssertEqual(buffer.readableBytes, 0)
        }
    }

    func testTwoPDUsBackToBack() throws {
        let h1 = header(opcode: 0x01, itt: 1, dataLength: 3)
        let h2 = header(opcode: 0x05, itt: 2, dataLength: 8)
        var buffer = ByteBuffer(bytes: wire(h1, data: [1, 2, 3]) + wire(h2, data: Array(10..<18)))
        let parser = PDUParser()
        let first = try XCTUnwrap(try parser.parse(&buffer))
        let second = try XCTUnwrap(try parser.parse(&buffer))
        XCTAssertNil(try parser.parse(&buffer))
        XCTAssertEqual(first.header, h1)
        XCTAssertEqual(first.data.allBytes, [1, 2, 3])
        XCTAssertEqual(second.header, h2)
        XCTAssertEqual(second.data.allBytes, Array(10..<18))
    }

    func testDataSegmentAtTheLimitIsAccepted() throws {
        let data = [UInt8](repeating: 0x5a, count: 512)
        var buffer = ByteBuffer(bytes: wire(header(dataLength: 512), data: data))
        let pdu = try XCTUnwrap(try PDUParser(maxDataSegmentLength: 512).parse(&buffer))
        XCTAssertEqual(pdu.data.readableBytes, 512)
    }

    func testDataSegmentOverTheLimitThrowsBeforeTheDataArrives() {
        let h = header(dataLength: 8193)
        var buffer = ByteBuffer(bytes: wire(h)) // the header only: none of the 8193 bytes
        let result = parseResult(PDUParser(maxDataSegmentLength: 8192), &buffer)
        guard case let .failure(.dataSegmentTooLong(header, length, limit)) = result else {
            return XCTFail("expected dataSegmentTooLong, got \(result)")
        }
        XCTAssertEqual(header, h)
        XCTAssertEqual(length, 8193)
        XCTAssertEqual(limit, 8192)
        XCTAssertEqual(buffer.readableBytes, 48, "nothing consumed")
    }

    // MARK: digests

    func testHeaderDigestOK() throws {
        let h = header(dataLength: 4)
        var buffer = ByteBuffer(bytes: wire(h, data: [1, 2, 3, 4], headerDigest: true))
        let pdu = try XCTUnwrap(try PDUParser(headerDigest: true).parse(&buffer))
        XCTAssertEqual(pdu.header, h)
        XCTAssertEqual(pdu.data.allBytes, [1, 2, 3, 4])
        XCTAssertEqual(buffer.readableBytes, 0)
    }

    func testHeaderDigestMatchesRFCExample() throws {
        // The RFC 3720 B.4 read command followed by its published CRC bytes.
        var buffer = ByteBuffer(bytes: CRC32CTests.rfcReadCommandPDU + [0x56, 0x3a, 0x96, 0xd9])
        let pdu = try XCTUnwrap(try PDUParser(headerDigest: true).parse(&buffer))
        XCTAssertEqual(pdu.header.initiatorOpcode, .scsiCommand)
        XCTAssertEqual(pdu.header.expectedDataTransferLength, 1024)
        XCTAssertEqual(pdu.header.cmdSN, 0x14)
        XCTAssertEqual(pdu.header.expStatSN, 0x18)
    }

    func testHeaderDigestMismatchThrowsAndConsumesNothing() {
        var bytes = wire(header(dataLength: 4), data: [1, 2, 3, 4], headerDigest: true)
        let good = UInt32(bytes[48]) | UInt32(bytes[49]) << 8 | UInt32(bytes[50]) << 16 | UInt32(bytes[51]) << 24
        bytes[20] ^= 0x01 // corrupt the header, keep the digest
        var buffer = ByteBuffer(bytes: bytes)
        let result = parseResult(PDUParser(headerDigest: true), &buffer)
        guard case let .failure(.headerDigestMismatch(expected, actual)) = result else {
            return XCTFail("expected headerDigestMismatch, got \(result)")
        }
        XCTAssertEqual(expected, good, "expected = the digest received on the wire")
        XCTAssertEqual(actual, referenceCRC32C(Array(bytes[0..<48])))
        XCTAssertEqual(buffer.readableBytes, bytes.count, "nothing consumed")
    }

    func testCorruptHeaderWithHugeLengthReportsDigestNotLength() {
        // A bit flip in DataSegmentLength must be caught by the header digest, not by trusting the length.
        var bytes = wire(header(), headerDigest: true)
        bytes[5] = 0xff
        var buffer = ByteBuffer(bytes: bytes)
        guard case .failure(.headerDigestMismatch) = parseResult(PDUParser(headerDigest: true), &buffer) else {
            return XCTFail("expected headerDigestMismatch")
        }
    }

    func testDataDigestMismatchThrowsAndConsumesThePDU() {
        let h = header(dataLength: 5)
        var bytes = wire(h, data: [1, 2, 3, 4, 5], headerDigest: true, dataDigest: true)
        bytes[53] ^= 0x80 // second data byte
        let next = wire(header(itt: 99))
        var buffer = ByteBuffer(bytes: bytes + next)
        let parser = PDUParser(headerDigest: true, dataDigest: true)
        let result = parseResult(parser, &buffer)
        guard case let .failure(.dataDigestMismatch(reported)) = result else {
            return XCTFail("expected dataDigestMismatch, got \(result)")
        }
        XCTAssertEqual(reported, h)
        XCTAssertEqual(buffer.readableBytes, next.count, "the damaged PDU is consumed, the next one is not")
    }

    func testCorruptPaddingIsCaughtByDataDigest() {
        // Padding bytes are covered by the data digest (RFC 7143 section 13.1).
        var bytes = wire(header(dataLength: 5), data: [1, 2, 3, 4, 5], dataDigest: true)
        bytes[48 + 6] = 0x01 // a pad byte
        var buffer = ByteBuffer(bytes: bytes)
        guard case .failure(.dataDigestMismatch) = parseResult(PDUParser(dataDigest: true), &buffer) else {
            return XCTFail("expected dataDigestMismatch")
        }
    }

    func testNoDataDigestWhenThereIsNoData() throws {
        // The data digest is present only when there is a data segment.
        let bytes = wire(header(), headerDigest: true, dataDigest: true)
        XCTAssertEqual(bytes.count, 52)
        var buffer = ByteBuffer(bytes: bytes + [0x77])
        XCTAssertNotNil(try PDUParser(headerDigest: true, dataDigest: true).parse(&buffer))
        XCTAssertEqual(buffer.allBytes, [0x77])
    }

    // MARK: streaming

    func testByteAtATimeFeedingYieldsTheSamePDUs() throws {
        let parser = PDUParser(headerDigest: true, dataDigest: true)
        let stream = wire(header(itt: 1), headerDigest: true, dataDigest: true)
            + wire(header(itt: 2, dataLength: 7), data: Array(1...7), headerDigest: true, dataDigest: true)
            + wire(header(itt: 3, ahsWords: 1, dataLength: 4), ahs: [0, 1, 2, 0], data: [4, 3, 2, 1],
                   headerDigest: true, dataDigest: true)
            + wire(header(itt: 4, dataLength: 1), data: [0xfe], headerDigest: true, dataDigest: true)

        var whole = ByteBuffer(bytes: stream)
        var expected: [PDU] = []
        while let pdu = try parser.parse(&whole) { expected.append(pdu) }
        XCTAssertEqual(expected.count, 4)
        XCTAssertEqual(whole.readableBytes, 0)

        var got: [PDU] = []
        var buffer = ByteBuffer()
        for byte in stream {
            buffer.writeInteger(byte)
            while let pdu = try parser.parse(&buffer) { got.append(pdu) }
        }
        XCTAssertEqual(buffer.readableBytes, 0)
        XCTAssertEqual(got.count, expected.count)
        for (a, b) in zip(got, expected) {
            XCTAssertEqual(a.header, b.header)
            XCTAssertEqual(a.additionalHeader?.allBytes, b.additionalHeader?.allBytes)
            XCTAssertEqual(a.data.allBytes, b.data.allBytes)
        }
        XCTAssertEqual(got.map(\.header.initiatorTaskTag), [1, 2, 3, 4])
        XCTAssertEqual(got[2].additionalHeader?.allBytes, [0, 1, 2, 0])
    }

    func testGarbageNeverCrashes() {
        var rng = SeededGenerator(seed: 7143)
        var outcomes = (pdus: 0, needMore: 0, errors: 0)
        for iteration in 0..<3000 {
            let parser = PDUParser(headerDigest: iteration % 3 == 1, dataDigest: iteration % 2 == 1,
                                   maxDataSegmentLength: iteration % 5 == 0 ? 16_777_215 : 8192)
            let length = Int.random(in: 0...400, using: &rng)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Make some headers plausible so that the data paths run too.
            if length >= 8, iteration % 2 == 0 {
                bytes[4] = UInt8.random(in: 0...2, using: &rng)
                bytes[5] = 0
                bytes[6] = 0
            }
            var buffer = ByteBuffer(bytes: bytes)
            var steps = 0
            loop: while steps < 100 {
                steps += 1
                let before = buffer.readableBytes
                switch parseResult(parser, &buffer) {
                case let .success(pdu?):
                    outcomes.pdus += 1
                    XCTAssertLessThan(buffer.readableBytes, before, "a PDU consumes bytes")
                    XCTAssertGreaterThanOrEqual(before - buffer.readableBytes, 48)
                    XCTAssertEqual(pdu.data.readableBytes, Int(pdu.header.dataSegmentLength))
                    XCTAssertEqual(pdu.additionalHeader?.readableBytes ?? 0, Int(pdu.header.totalAHSLength) * 4)
                case .success(nil):
                    outcomes.needMore += 1
                    XCTAssertEqual(buffer.readableBytes, before, "needing more consumes nothing")
                    break loop
                case let .failure(error):
                    outcomes.errors += 1
                    if case .dataDigestMismatch = error {
                        XCTAssertLessThan(buffer.readableBytes, before)
                    } else {
                        XCTAssertEqual(buffer.readableBytes, before, "\(error) consumes nothing")
                    }
                    break loop
                }
            }
        }
        // The loop exercised all three outcomes.
        XCTAssertGreaterThan(outcomes.pdus, 0)
        XCTAssertGreaterThan(outcomes.needMore, 0)
        XCTAssertGreaterThan(outcomes.errors, 0)
    }
}
