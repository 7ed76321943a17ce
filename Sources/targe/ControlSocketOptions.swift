import ArgumentParser
import ISCSITarget

/// How `targe status` and `targe reload` find the running target's control socket.
struct ControlSocketOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The config file the target runs with (its control socket is beside it).")
    var config: String?

    @Option(help: "The data directory of a target running the embedded default.")
    var dataDir: String = "/var/lib/targe"

    @Option(help: "The control socket, when the target was started with --control.")
    var control: String?

    var path: String {
        control ?? ControlSocket.defaultPath(stateDirectory: configStateDirectory(config: config, dataDir: dataDir))
    }
}
