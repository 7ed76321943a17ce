extension StringProtocol {
    /// The text without leading and trailing characters from `set` (no Foundation here).
    /// Compared as Unicode scalars: as Characters, "\r\n" is one grapheme and a lone "\r"
    /// would not match it.
    func trimmed(_ set: String = " \t\r\n") -> String {
        let drop = Set(set.unicodeScalars)
        var scalars = Substring(self).unicodeScalars[...]
        while let c = scalars.first, drop.contains(c) { scalars = scalars.dropFirst() }
        while let c = scalars.last, drop.contains(c) { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
