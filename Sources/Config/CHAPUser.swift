/// A CHAP name and secret (RFC 1994, RFC 7143 section 12.1.3). The secret is the literal
/// bytes of the text; it cannot contain whitespace or '#' because the file could not say so.
public struct CHAPUser: Sendable, Equatable {
    public var name: String
    public var secret: String
    /// `incoming NAME SECRET INITIATOR-NAME...`: the initiator names (normalised) this user
    /// may log in as; empty: any.
    public var initiators: [String]
    public var line: Int

    public init(name: String, secret: String, initiators: [String] = [], line: Int = 0) {
        self.name = name
        self.secret = secret
        self.initiators = initiators
        self.line = line
    }

    /// Ignores line numbers (see `ApplianceSettings.==`).
    public static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.secret == b.secret && a.initiators == b.initiators
    }
}
