import Appliance
import ArgumentParser
import ISCSITarget

/// `targe menu --config FILE`: the console setup menu on stdin/stdout. On an ordinary host
/// there is no supervisor, so the service actions say they need the appliance; the status
/// page and "Save and apply" ask a `targe serve` running with the same file, if one is.
struct Menu: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Edit a config file with the console setup menu (created on save if missing).")

    @Option(name: .shortAndLong, help: "The config file.")
    var config: String

    func run() throws {
        let socket = ControlSocket.defaultPath(stateDirectory: configStateDirectory(config: config, dataDir: "/var/lib/targe"))
        let menu = ConsoleMenu(configPath: config, terminal: StandardTerminal(), status: ControlSocketStatus(path: socket))
        switch menu.run() {
        case .quit, .endOfInput: return
        case .unreadableConfig: throw ExitCode(1)
        }
    }
}
