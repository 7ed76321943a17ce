import Appliance
import ArgumentParser
import ISCSITarget
#if canImport(Glibc)
import Glibc
#endif

/// `targe init`: PID 1 of the appliance image. `main` runs it whenever the process is PID 1
/// (the kernel starts /init with whatever arguments the boot loader left over).
struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run as PID 1 of the appliance image (mounts, config partition, network, service supervision).")

    func run() throws {
        guard getpid() == 1 else {
            // It mounts, configures interfaces and powers the machine off: never on a host.
            writeStderr("targe init only runs as PID 1 of the appliance image (this is pid \(getpid()))\n")
            throw ExitCode(2)
        }
        Self.runAsPID1()
    }

    static func runAsPID1() -> Never {
        let system: InitSystem
        do {
            system = try InitSystem(consoleApp: { control, configPath in
                let status = ControlSocketStatus(path: ControlSocket.defaultPath(
                    stateDirectory: configStateDirectory(config: configPath, dataDir: "/config")))
                _ = ConsoleMenu(configPath: configPath, terminal: StandardTerminal(),
                                service: control, status: status).run()
            })
        } catch {
            InitSystem.fatalBeforeStart(error)
        }
        system.run()
    }
}
