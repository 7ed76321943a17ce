import ArgumentParser
import Config
#if canImport(Glibc)
import Glibc
#endif

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a config file and print line-numbered errors.")

    @Option(name: .shortAndLong, help: "The config file.")
    var config: String

    func run() throws {
        do {
            let parsed = try ConfigParser.load(path: config)
            let unsupported = FeatureGate.unsupported(in: parsed, file: config)
            guard unsupported.isEmpty else {
                printErrors(unsupported)
                throw ExitCode(1)
            }
            print("config ok: \(parsed.devices.count) device(s), \(parsed.targets.count) target(s)")
        } catch let errors as ConfigErrors {
            printErrors(errors.errors)
            throw ExitCode(1)
        }
    }
}

func printErrors(_ errors: [ConfigError]) {
    for e in errors { writeStderr("\(e)\n") }
}

/// Writes to file descriptor 2 directly (the C `stderr` global is not concurrency-safe).
func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = write(2, raw.baseAddress! + offset, raw.count - offset)
            if n <= 0 { break }
            offset += n
        }
    }
}
