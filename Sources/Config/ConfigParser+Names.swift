/// Name rules for tools that build configs (the console menu), so they check a name the way
/// the parser will instead of keeping a copy of the rule.
extension ConfigParser {
    /// Whether `name` may follow a section kind in a header, as in `[device NAME]`.
    public static func isValidSectionName(_ name: String) -> Bool {
        ConfigLexer.isValidName(name)
    }
}
