import ArgumentParser
import ISCSITarget
#if canImport(Glibc)
import Glibc
#endif

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the running target for its targets, devices, RAID health and sessions.")

    @OptionGroup var socket: ControlSocketOptions

    @Flag(help: "One JSON object (the schema is in the README) instead of text.")
    var json = false

    func run() throws {
        let path = socket.path
        do {
            for line in try ControlClient.request(json ? "status json" : "status", path: path) { print(line) }
        } catch {
            writeStderr("\(error)\n")
            throw ExitCode(1)
        }
    }
}

/// Where a target keeps the files that go with its config (mirror health, write-intent
/// bitmaps, the control socket): the config's directory, or the data directory for the
/// embedded default.
func configStateDirectory(config: String?, dataDir: String) -> String {
    guard let path = config else { return dataDir }
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}
