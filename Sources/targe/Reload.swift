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

    @Option(name: .shortAndLong, help: "The config file the target runs with (its control socket is beside it).")
    var config: String?

    @Option(help: "The data directory of a target running the embedded default.")
    var dataDir: String = "/var/lib/targe"

    @Option(help: "The control socket, when the target was started with --control.")
    var control: String?

    func run() throws {
        let path = control ?? ControlSocket.defaultPath(stateDirectory: configStateDirectory(config: config, dataDir: dataDir))
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
