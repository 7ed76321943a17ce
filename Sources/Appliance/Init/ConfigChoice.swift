import Config

/// Which config file PID 1 hands to the service, decided from what is on the config
/// partition. Pure: the file's state comes in as a value, the decision goes out as one,
/// and `InitSystem` does the writing and the console lines.
public enum ConfigChoice: Equatable, Sendable {
    /// The partition's own file is valid: serve it.
    case use(path: String)
    /// No file there yet: write the first-boot default to `path` (on the partition) and serve it.
    case writeDefault(path: String)
    /// The file is there but invalid (or there is no partition): leave it alone, serve the
    /// default from `fallbackPath` (in /run) and tell the console why.
    case fallback(fallbackPath: String, reason: String)

    public enum FileState: Equatable, Sendable {
        case missing
        case valid
        case invalid(String)
    }

    public static func decide(partitionMounted: Bool, file: FileState, configPath: String,
                              fallbackPath: String) -> ConfigChoice {
        guard partitionMounted else {
            return .fallback(fallbackPath: fallbackPath,
                             reason: "no config partition (ext4 labelled \(Appliance.configPartitionLabel)); changes will not survive a reboot")
        }
        switch file {
        case .valid: return .use(path: configPath)
        case .missing: return .writeDefault(path: configPath)
        case let .invalid(errors):
            return .fallback(fallbackPath: fallbackPath,
                             reason: "\(configPath) is not usable, left as it is; fix it and restart the service:\n\(errors)")
        }
    }

    /// Parses the file and applies the same feature checks `serve` will, so a config that
    /// would make the service refuse to start is caught here with its line numbers.
    public static func state(ofFileAt path: String) -> FileState {
        guard SystemFiles.exists(path) else { return .missing }
        do {
            let config = try ConfigParser.load(path: path)
            let unsupported = FeatureGate.unsupported(in: config, file: path)
            return unsupported.isEmpty ? .valid : .invalid(unsupported.map(\.description).joined(separator: "\n"))
        } catch {
            return .invalid(error.description)
        }
    }

    /// The file the service will read.
    public var servedPath: String {
        switch self {
        case let .use(path), let .writeDefault(path): return path
        case let .fallback(path, _): return path
        }
    }
}
