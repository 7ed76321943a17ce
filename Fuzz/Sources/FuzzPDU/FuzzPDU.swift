import FuzzSupport
import ISCSI
import NIOCore

/// The PDU framer (PDUParser) on a byte stream, with each digest setting and several ways of
/// cutting the stream into reads. Every framing must see the same PDUs and the same error;
/// every PDU is checked against the bytes it came from, re-serialised, and its data segment
/// goes through the text parser and (for Login Requests) a login state machine.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPDU(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(fuzzBytes(data, size))
    for (headerDigest, dataDigest) in [(false, false), (true, false), (false, true), (true, true)] {
        let parser = PDUParser(headerDigest: headerDigest, dataDigest: dataDigest, maxDataSegmentLength: 8192)
        let whole = frame(input, parser: parser, reads: [input.count], discard: false, checkPDUs: true)
        // Byte by byte for short inputs, else odd sizes; reads that split the header and its
        // digest; reads around a whole header. Every other framing compacts the buffer as
        // NIO's ByteToMessageDecoder does.
        let chunkings: [[Int]] = [input.count <= 512 ? [1] : [7, 3], [48, 4, 1, 13], [53, 1000, 2]]
        for (n, reads) in chunkings.enumerated() where reads[0] < input.count {
            let other = frame(input, parser: parser, reads: reads, discard: n % 2 == 1, checkPDUs: false)
            fuzzCheck(other == whole, "reads of \(reads) frame differently from one read "
                      + "(digests \(headerDigest)/\(dataDigest)):\n\(other)\nvs\n\(whole)")
        }
        // The Login Requests of the stream, in order, as one connection's login.
        var driver = LoginDriver(offer: TargetOffer(), authority: FuzzAuthority())
        for pdu in whole.pdus where pdu.header.initiatorOpcode == .loginRequest {
            driver.receive(pdu)
        }
    }
    return 0
}

/// What a framing produced: the PDUs and errors in order, then the bytes left over.
struct Framing: Equatable, CustomStringConvertible {
    enum Event: Equatable {
        case pdu(BasicHeaderSegment, ahs: [UInt8]?, data: [UInt8])
        case error(ISCSIError)
    }
    var events: [Event] = []
    var pdus: [PDU] = []
    var leftover = 0

    static func == (a: Framing, b: Framing) -> Bool { a.events == b.events && a.leftover == b.leftover }

    var description: String { "\(events.count) events, \(leftover) bytes left: \(events)" }
}

/// Feeds `input` to the parser in reads of the sizes in `reads` (cycled), parsing after each
/// read until the parser needs more bytes, as a channel handler would. With `checkPDUs`, each
/// PDU is checked against its wire bytes (`check`).
func frame(_ input: [UInt8], parser: PDUParser, reads: [Int], discard: Bool, checkPDUs: Bool) -> Framing {
    var result = Framing()
    var buffer = ByteBuffer()
    var offset = 0       // input bytes written to the buffer
    var consumed = 0     // input bytes the parser has consumed
    var readIndex = 0
    repeat {
        let n = min(max(reads[readIndex % reads.count], 1), input.count - offset)
        readIndex += 1
        buffer.writeBytes(input[offset..<(offset + n)])
        offset += n
        while true {
            let before = buffer.readerIndex
            let readable = buffer.readableBytes
            do {
                guard let pdu = try parser.parse(&buffer) else {
                    fuzzCheck(buffer.readerIndex == before, "parse returned nil but consumed bytes")
                    break
                }
                let used = buffer.readerIndex - before
                if checkPDUs { check(pdu, bytes: input[consumed..<(consumed + used)], parser: parser) }
                consumed += used
                result.events.append(.pdu(pdu.header, ahs: pdu.additionalHeader.map { Array($0.readableBytesView) },
                                          data: Array(pdu.data.readableBytesView)))
                result.pdus.append(pdu)
                if discard { buffer.discardReadBytes() }
            } catch {
                result.events.append(.error(error))
                if case .dataDigestMismatch = error {
                    // The header was good, so the PDU is skipped and the stream goes on.
                    let used = buffer.readerIndex - before
                    fuzzCheck(used > 0 && used <= readable, "a data digest error consumes the PDU")
                    consumed += used
                    continue
                }
                fuzzCheck(buffer.readerIndex == before, "a framing error (\(error)) consumed bytes")
                result.leftover = input.count - consumed
                return result
            }
        }
    } while offset < input.count
    result.leftover = input.count - consumed
    fuzzCheck(result.leftover == buffer.readableBytes, "bytes lost between reads")
    return result
}

/// One framed PDU against the wire bytes it was cut from (RFC 7143 section 11.1).
func check(_ pdu: PDU, bytes: ArraySlice<UInt8>, parser: PDUParser) {
    let wire = Array(bytes)
    let h = pdu.header
    let ahsLength = Int(h.totalAHSLength) * 4
    let dataLength = Int(h.dataSegmentLength)
    let headerEnd = 48 + ahsLength
    let dataStart = headerEnd + (parser.headerDigest ? 4 : 0)
    let padded = (dataLength + 3) & ~3
    let expected = dataStart + padded + (parser.dataDigest && dataLength > 0 ? 4 : 0)
    fuzzCheck(wire.count == expected, "PDU used \(wire.count) bytes, its lengths say \(expected)")
    fuzzCheck(dataLength <= parser.maxDataSegmentLength, "data segment over the limit")
    fuzzCheck(h.bytes() == Array(wire[0..<48]), "the BHS does not re-encode to its wire bytes")
    fuzzCheck(pdu.data.readableBytes == dataLength, "data segment length")
    fuzzCheck(Array(pdu.data.readableBytesView) == Array(wire[dataStart..<(dataStart + dataLength)]), "data bytes")
    if ahsLength > 0 {
        fuzzCheck(pdu.additionalHeader.map { Array($0.readableBytesView) } == Array(wire[48..<headerEnd]), "AHS bytes")
    } else {
        fuzzCheck(pdu.additionalHeader == nil, "AHS without TotalAHSLength")
    }
    if parser.headerDigest {
        let digest = UInt32(wire[headerEnd]) | UInt32(wire[headerEnd + 1]) << 8
            | UInt32(wire[headerEnd + 2]) << 16 | UInt32(wire[headerEnd + 3]) << 24
        fuzzCheck(digest == ReferenceCRC32C.checksum(wire[0..<headerEnd]), "accepted a wrong header digest")
    }
    if parser.dataDigest && dataLength > 0 {
        let at = dataStart + padded
        let digest = UInt32(wire[at]) | UInt32(wire[at + 1]) << 8 | UInt32(wire[at + 2]) << 16 | UInt32(wire[at + 3]) << 24
        fuzzCheck(digest == ReferenceCRC32C.checksum(wire[dataStart..<at]), "accepted a wrong data digest")
    }

    // Serialising the PDU again and parsing that gives the same PDU; with zero padding the
    // bytes are the very same (the serializer writes no AHS, so only for PDUs without one).
    if ahsLength == 0 {
        var out = ByteBuffer()
        PDUSerializer(headerDigest: parser.headerDigest, dataDigest: parser.dataDigest)
            .serialize(h, data: pdu.data, into: &out)
        let bytesOut = Array(out.readableBytesView)
        if wire[(dataStart + dataLength)..<(dataStart + padded)].allSatisfy({ $0 == 0 }) {
            fuzzCheck(bytesOut == wire, "re-serialised PDU differs from its wire bytes")
        }
        do {
            let again = try parser.parse(&out)
            fuzzCheck(again?.header == h && again.map { Array($0.data.readableBytesView) } == Array(pdu.data.readableBytesView),
                      "re-serialised PDU parses differently")
            fuzzCheck(out.readableBytes == 0, "re-serialised PDU leaves bytes")
        } catch {
            fuzzCheck(false, "re-serialised PDU fails to parse: \(error)")
        }
    }

    // Every data segment through the text parser (Login, Text and any other opcode).
    if let parameters = try? TextParameters.parse(pdu.data) {
        checkTextRoundTrip(parameters)
    }
}
