/// `[auth]`: CHAP users for discovery sessions and for targets that have none of their own.
public struct AuthSettings: Sendable, Equatable {
    /// RFC 7143 12.1.3 wants at least 96-bit secrets; shorter ones are brute-forced offline
    /// from one sniffed login, so they take an explicit `allow-short-secrets yes`.
    public static let minimumSecretLength = 12

    /// Initiators that may log in (CHAP); empty = no authentication required.
    public var incoming: [CHAPUser]
    /// The target's own name and secret for mutual CHAP.
    public var outgoing: CHAPUser?
    /// `allow-short-secrets yes`: accept secrets under 12 bytes everywhere in the file.
    public var allowShortSecrets: Bool
    /// Line of the `[auth]` header, 0 when absent.
    public var line: Int

    public init(incoming: [CHAPUser] = [], outgoing: CHAPUser? = nil, allowShortSecrets: Bool = false, line: Int = 0) {
        self.incoming = incoming
        self.outgoing = outgoing
        self.allowShortSecrets = allowShortSecrets
        self.line = line
    }

    /// Ignores line numbers (see `ApplianceSettings.==`).
    public static func == (a: Self, b: Self) -> Bool {
        a.incoming == b.incoming && a.outgoing == b.outgoing && a.allowShortSecrets == b.allowShortSecrets
    }
}
