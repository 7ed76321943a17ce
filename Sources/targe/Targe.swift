import Appliance
import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

@main
struct Targe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "targe",
        abstract: "Targe: an iSCSI storage target and appliance.",
        subcommands: [Serve.self, Check.self, Status.self, Reload.self, DefaultConfig.self, Menu.self, Init.self,
                      ModuleOrderCommand.self],
        defaultSubcommand: Serve.self)

    /// Started by the kernel as /init, the arguments are whatever boot parameters it did not
    /// know, so they are not parsed: the appliance's init runs (InitDetection says when).
    static func main() {
        if InitDetection.shouldRunInit(pid: getpid(), arguments: CommandLine.arguments) { Init.runAsPID1() }
        main(nil)
    }
}
