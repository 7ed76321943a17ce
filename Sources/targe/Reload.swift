import ArgumentParser
import ISCSITarget
#if canImport(Glibc)
import Glibc
#endif

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the running target to apply its config file again, changing only what differs.",
        discussion: """
            The file is checked whole first: an invalid file changes nothing and every error is \
            printed as file:line. Sessions that the changes do not concern keep running. Prints \
            what was applied and what needs a restart; exits 1 when the reload was refused. \
            SIGHUP to `targe serve` does the same.
            """)

    @OptionGroup var socket: ControlSocketOptions

    func run() throws {
        let path = socket.path
        let lines: [String]
        do {
            lines = try ControlClient.request("reload", path: path, timeoutSeconds: 120)
        } catch {
            writeStderr("\(error)\n")
            throw ExitCode(1)
        }
        for line in lines { print(line) }
        if lines.first?.hasPrefix("reloaded") != true { throw ExitCode(1) }
    }
}
