extension StringProtocol {
    /// The text without leading and trailing characters from `set` (no Foundation here).
    func trimmed(_ set: String = " \t\r\n") -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
