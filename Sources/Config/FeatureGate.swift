#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Config that parses but asks for something not built yet. `targe serve` refuses to start
/// with any of these rather than silently ignoring, say, an access rule. Each check is one
/// `if` so that landing a feature means deleting its lines here.
public enum FeatureGate {
    public static func unsupported(in config: TargeConfig, file: String = "targe.conf") -> [ConfigError] {
        var errors: [ConfigError] = []
        func add(_ line: Int, _ what: String) {
            errors.append(ConfigError(file: file, line: line, message: "\(what) is not supported yet"))
        }

        // The aio engine
        for device in config.devices {
            if device.engine == .aio {
                add(device.lines["engine"] ?? device.line, "engine aio")
            } else if device.engine == nil, let path = device.path, isBlockDevice(path) {
                add(device.lines["path"] ?? device.line,
                    "engine aio (the default for block device \(path); set 'engine buffered' in [device \(device.name)])")
            }
        }

        // Multiple connections per session, error recovery
        let connection = config.connection
        if connection.maxConnections > 1 {
            add(connection.lines["MaxConnections"] ?? connection.line, "MaxConnections \(connection.maxConnections)")
        }
        if connection.errorRecoveryLevel > 0 {
            add(connection.lines["ErrorRecoveryLevel"] ?? connection.line, "ErrorRecoveryLevel \(connection.errorRecoveryLevel)")
        }

        return errors.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
    }

    /// stat, not lstat: /dev/disk/by-id/... links should count as what they point to.
    private static func isBlockDevice(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return info.st_mode & S_IFMT == S_IFBLK
    }
}
