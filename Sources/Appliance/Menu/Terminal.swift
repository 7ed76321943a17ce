/// What the console menu talks to: a serial line, stdin/stdout, or a test script. Kept to
/// two calls so anything that can print and read a line can drive the menu.
public protocol Terminal: AnyObject {
    /// Writes text as it is; the menu supplies its own newlines.
    func write(_ text: String)
    /// One line without its newline, or nil at end of input (which ends the menu).
    func readLine() -> String?
    /// Like `readLine`, but the terminal should not echo what is typed (CHAP secrets).
    func readSecretLine() -> String?
}

extension Terminal {
    /// Terminals that cannot turn echo off read secrets like any other line.
    public func readSecretLine() -> String? { readLine() }
}
