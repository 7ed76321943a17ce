import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

@main
struct Targe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "targe",
        abstract: "Targe: an iSCSI storage target and appliance.",
        subcommands: [Serve.self, Check.self, DefaultConfig.self, Init.self, ModuleOrderCommand.self],
        defaultSubcommand: Serve.self)

    /// As PID 1 the arguments are whatever the kernel passed on (boot parameters it did not
    /// know), so they are not parsed: the appliance's init runs.
    static func main() {
        if getpid() == 1 { Init.runAsPID1() }
        main(nil)
    }
}
