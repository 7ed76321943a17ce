import ISCSI
import NIOCore
import XCTest

/// Text key=value encoding, RFC 7143 section 6.1.
final class TextParametersTests: XCTestCase {
    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    private func assertMalformed(_ s: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let parsed = try TextParameters.parse(bytes(s))
            XCTFail("expected malformedText, parsed \(parsed.pairs)", file: file, line: line)
        } catch {
            guard case .malformedText = error else {
                return XCTFail("expected malformedText, got \(error)", file: file, line: line)
            }
        }
    }

    func testParseInOrder() throws {
        let p = try TextParameters.parse(bytes("InitiatorName=iqn.1993-08.org.debian:01:abc\0SessionType=Normal\0MaxBurstLength=262144\0"))
        XCTAssertEqual(p.pairs.map(\.key), ["InitiatorName", "SessionType", "MaxBurstLength"])
        XCTAssertEqual(p["InitiatorName"], "iqn.1993-08.org.debian:01:abc")
        XCTAssertEqual(p["SessionType"], "Normal")
        XCTAssertEqual(p["MaxBurstLength"], "262144")
        XCTAssertNil(p["TargetName"])
    }

    func testEncodeParseRoundTrip() throws {
        let original = TextParameters([("HeaderDigest", "None,CRC32C"), ("TargetAlias", "disk one"),
                                       ("X-com.example.key", "a=b"), ("Empty", "")])
        let encoded = original.encoded()
        XCTAssertEqual(encoded, bytes("HeaderDigest=None,CRC32C\0TargetAlias=disk one\0X-com.example.key=a=b\0Empty=\0"))
        XCTAssertEqual(try TextParameters.parse(encoded), original)
        XCTAssertEqual(try TextParameters.parse(ByteBuffer(bytes: encoded)), original)
    }

    func testValueMayContainEqualsSign() throws {
        let p = try TextParameters.parse(bytes("CHAP_C=0x1234=\0"))
        XCTAssertEqual(p["CHAP_C"], "0x1234=")
    }

    func testMissingFinalNulIsTolerated() throws {
        let p = try TextParameters.parse(bytes("A=1\0B=2"))
        XCTAssertEqual(p, TextParameters([("A", "1"), ("B", "2")]))
    }

    func testEmptyInputIsEmpty() throws {
        XCTAssertEqual(try TextParameters.parse([UInt8]()).pairs.count, 0)
        XCTAssertEqual(try TextParameters.parse(ByteBuffer()).pairs.count, 0)
    }

    func testEncodedEmptyIsEmpty() {
        XCTAssertEqual(TextParameters().encoded(), [])
    }

    func testMissingEqualsThrows() {
        assertMalformed("A=1\0JustAKey\0")
        assertMalformed("NoEquals")
    }

    func testDuplicateKeyThrows() {
        assertMalformed("MaxBurstLength=512\0MaxBurstLength=1024\0")
    }

    func testBadKeyCharactersThrow() {
        assertMalformed("Bad Key=1\0")
        assertMalformed("Key!=1\0")
        assertMalformed("Key:x=1\0")
        assertMalformed("=value\0")
        assertMalformed("Ke\u{e9}y=1\0")
    }

    func testAllStandardLabelCharactersAreAccepted() throws {
        // letters, digits, '.', '-', '+', '@', '_' (RFC 7143 section 6.1, "standard-label").
        let key = "aZ09.-+@_"
        XCTAssertEqual(try TextParameters.parse(bytes("\(key)=v\0"))[key], "v")
    }

    func testKeyLengthLimit() throws {
        // Key names are at most 63 bytes.
        let k63 = String(repeating: "K", count: 63)
        XCTAssertEqual(try TextParameters.parse(bytes("\(k63)=1\0"))[k63], "1")
        assertMalformed(String(repeating: "K", count: 64) + "=1\0")
    }

    func testAppendAndSubscript() {
        var p = TextParameters()
        p.append("A", "1")
        p.append("B", "2")
        XCTAssertEqual(p["B"], "2")
        XCTAssertEqual(p.encoded(), bytes("A=1\0B=2\0"))
        XCTAssertNotEqual(p, TextParameters([("B", "2"), ("A", "1")]), "order matters")
    }
}

/// RFC-ORACLE TEST: public extension keys have the form "X#<IANA-registered-string>"
/// (RFC 7143 section 13, and section 13.26 defines X#NodeArchitecture, originally RFC 4850).
/// An initiator may send X#NodeArchitecture; the key must parse (it is then answered or
/// ignored), not make the whole login text malformed. Fails against the current
/// TextParameters.isKeyCharacter (Sources/ISCSI/Login/TextParameters.swift), which has no '#'.
final class TextParametersRFCExtensionKeyTests: XCTestCase {
    func testRFCPublicExtensionKeyParses() throws {
        let text = Array("InitiatorName=iqn.x\0X#NodeArchitecture=ExampleOS/v1234,ExampleInc_SW_Initiator/1.05a\0".utf8)
        let p = try TextParameters.parse(text)
        XCTAssertEqual(p["X#NodeArchitecture"], "ExampleOS/v1234,ExampleInc_SW_Initiator/1.05a")
        XCTAssertEqual(p["InitiatorName"], "iqn.x")
    }
}
