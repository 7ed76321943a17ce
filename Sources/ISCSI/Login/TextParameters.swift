import NIOCore

/// `key=value` pairs as carried in Login and Text PDUs (RFC 7143 section 6.1), in order.
public struct TextParameters: Sendable, Equatable {
    public var pairs: [(key: String, value: String)]

    public init(_ pairs: [(key: String, value: String)] = []) { self.pairs = pairs }

    public static func == (lhs: TextParameters, rhs: TextParameters) -> Bool {
        lhs.pairs.count == rhs.pairs.count && zip(lhs.pairs, rhs.pairs).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public subscript(key: String) -> String? { pairs.first { $0.key == key }?.value }

    public mutating func append(_ key: String, _ value: String) { pairs.append((key, value)) }

    /// Limits from RFC 7143 section 6.1: keys up to 63 bytes, values up to 8192 bytes.
    static let maxKeyLength = 63
    static let maxValueLength = 8192

    /// Parses null-separated `key=value` strings. A missing final null is tolerated (some
    /// initiators omit it); anything else malformed is an error for the whole request.
    public static func parse<Bytes: Collection>(_ bytes: Bytes) throws(ISCSIError) -> TextParameters where Bytes.Element == UInt8 {
        var result = TextParameters()
        var seen = Set<String>()
        for item in bytes.split(separator: 0, omittingEmptySubsequences: true) {
            guard let eq = item.firstIndex(of: UInt8(ascii: "=")) else {
                throw .malformedText("'\(String(decoding: item.prefix(64), as: UTF8.self))' has no '='")
            }
            let key = String(decoding: item[item.startIndex..<eq], as: UTF8.self)
            let value = String(decoding: item[item.index(after: eq)...], as: UTF8.self)
            guard !key.isEmpty, key.utf8.count <= maxKeyLength,
                  key.utf8.allSatisfy({ isKeyCharacter($0) }) else {
                throw .malformedText("invalid key '\(key.prefix(64))'")
            }
            guard value.utf8.count <= maxValueLength else { throw .malformedText("value of \(key) is too long") }
            guard seen.insert(key).inserted else { throw .malformedText("key \(key) sent twice") }
            result.append(key, value)
        }
        return result
    }

    public static func parse(_ buffer: ByteBuffer) throws(ISCSIError) -> TextParameters {
        try buffer.withUnsafeReadableBytes { raw throws(ISCSIError) in try parse(raw) }
    }

    private static func isKeyCharacter(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"),
             UInt8(ascii: "+"), UInt8(ascii: "@"), UInt8(ascii: "_"),
             UInt8(ascii: "#"):  // X#<IANA name> public extension keys (RFC 7143 section 13.26)
            return true
        default:
            return false
        }
    }

    /// Encodes as `key=value\0...`.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        for (k, v) in pairs {
            out.append(contentsOf: k.utf8)
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: v.utf8)
            out.append(0)
        }
        return out
    }
}
