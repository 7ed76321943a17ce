/// `gateway NAME ADDR[:PORT]` in a [target]: one Targe instance that serves the target's
/// shared (RBD) LUs. Every gateway of a target lists them all, itself included, in the same
/// order: the position makes the ALUA target port group and relative port id (1, 2, ...),
/// which must agree on every gateway.
public struct GatewayConfig: Sendable, Equatable {
    /// What `[server] gateway-name` calls it on its own host.
    public var name: String
    /// Where its initiators reach it (SendTargets on any gateway lists every gateway's portal).
    public var portal: Portal
    /// Ignored by ==.
    public var line: Int

    public init(name: String, portal: Portal, line: Int = 0) {
        self.name = name
        self.portal = portal
        self.line = line
    }

    public static func == (a: Self, b: Self) -> Bool { a.name == b.name && a.portal == b.portal }

    /// Letters, digits, '.', '-' and '_', at most 32 bytes: it lands in logs, status and
    /// the image's metadata.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 32
            && name.utf8.allSatisfy { $0 < 0x80 && (Character(Unicode.Scalar($0)).isLetter || Character(Unicode.Scalar($0)).isNumber
                || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")) }
    }
}
