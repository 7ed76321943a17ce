import Appliance
import ArgumentParser

/// `targe menu --config FILE`: the console setup menu on stdin/stdout. On an ordinary host
/// there is no supervisor, so the service actions and status say they need the appliance.
struct Menu: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Edit a config file with the console setup menu (created on save if missing).")

    @Option(name: .shortAndLong, help: "The config file.")
    var config: String

    func run() throws {
        let menu = ConsoleMenu(configPath: config, terminal: StandardTerminal())
        switch menu.run() {
        case .quit, .endOfInput: return
        case .unreadableConfig: throw ExitCode(1)
        }
    }
}
