/// Control flow out of the menu from any depth: the only way a prompt fails.
enum MenuExit: Error {
    /// The terminal reached end of input (Ctrl-D, closed serial line, end of a test script).
    case endOfInput
}
