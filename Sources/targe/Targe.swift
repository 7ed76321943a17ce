import ArgumentParser

@main
struct Targe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "targe",
        abstract: "Targe: an iSCSI storage target and appliance.",
        subcommands: [Serve.self, Check.self, DefaultConfig.self, Menu.self],
        defaultSubcommand: Serve.self)
}
