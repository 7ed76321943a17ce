/// What a running connection did when a reload replaced the catalog.
public enum CatalogAdoption: Sendable, Equatable {
    /// Not in a normal session (logging in, discovery): nothing to change.
    case unaffected
    /// Its target is still there and still admits it: it serves the new version.
    case kept
    /// Its target (named) is gone, or no longer admits the initiator (allow rules, CHAP
    /// users): it asked the initiator to log out and closes after DefaultTime2Wait.
    case loggedOut(target: String)
}
