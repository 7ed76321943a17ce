/// Config that parses but asks for something not built yet. `targe serve` refuses to start
/// with any of these rather than silently ignoring, say, an access rule. Each check is one
/// `if` so that landing a feature means deleting its lines here.
public enum FeatureGate {
    public static func unsupported(in config: TargeConfig, file: String = "targe.conf") -> [ConfigError] {
        var errors: [ConfigError] = []
        func add(_ line: Int, _ what: String) {
            errors.append(ConfigError(file: file, line: line, message: "\(what) is not supported yet"))
        }

        // Error recovery above level 0 (connection recovery, SNACK)
        let connection = config.connection
        if connection.errorRecoveryLevel > 0 {
            add(connection.lines["ErrorRecoveryLevel"] ?? connection.line, "ErrorRecoveryLevel \(connection.errorRecoveryLevel)")
        }

        return errors.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
    }
}
