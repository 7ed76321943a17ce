#if canImport(Glibc)
import Glibc
#endif
import CSystemShims
import Config

/// Targe as PID 1 of the appliance: brings the machine up (kernel filesystems, modules,
/// config partition, network), runs the iSCSI service under supervision, reaps orphans,
/// takes console commands, and shuts down cleanly on a signal or a command.
///
/// It is single-threaded: one poll loop over a signalfd (SIGCHLD and the shutdown
/// signals), ServiceControl's eventfd, the console, the service's output and the power
/// button (InitSystem+Loop.swift); only a console app (the setup menu) gets a thread. PID 1 must
/// never exit, so every path ends in `Shutdown.finish`, which powers off or reboots.
public final class InitSystem {
    public struct Layout: Sendable {
        public var configMount = "/config"
        public var fallbackDirectory = "/run/targe"
        public var modules = "/lib/modules/targe"
        public init() {}
    }

    /// Signals PID 1 takes through its signalfd. SIGTERM, SIGINT and SIGPWR power off,
    /// SIGUSR1 reboots, SIGHUP restarts the service.
    static let handledSignals: [Int32] = [SIGCHLD, SIGTERM, SIGINT, SIGPWR, SIGHUP, SIGUSR1]

    // State of the running machine; internal rather than private only so that the
    // InitSystem+Config/+Network/+Loop files can share it.
    let layout: Layout
    let console = Console()
    let kernelMounts = KernelMounts()
    var diskMounts: [String] = []
    var signalDescriptor: Int32 = -1
    var consoleInput: Int32 = 0
    var powerButtons: [Int32] = []
    var pendingInput: [UInt8] = []
    public let control: ServiceControl
    var supervisor: ServiceSupervisor?
    var configPath = ""
    var configPartitionMounted = false
    var network = NetworkPlan(settings: nil)
    var interface: String?
    /// The IPv4 address in use (static or leased), for the ready line and status.
    var currentAddress: String?
    /// "10.0.2.15/24 via 10.0.2.2", "eth0 10.0.2.15/24 (DHCP)": for status lines.
    var networkSummary = "not configured"
    /// With `address dhcp`: when to run the exchange again (renewal at T1, or a retry).
    var dhcpAt: Double?

    /// A full-screen console program (the setup menu) that PID 1 hands the console to on
    /// the `menu` command. It runs on its own thread, gets the service control and the
    /// config file's path, and PID 1 reads the console again when it returns.
    public typealias ConsoleApp = @Sendable (_ control: ServiceControl, _ configPath: String) -> Void
    let consoleApp: ConsoleApp?

    public init(layout: Layout = Layout(), consoleApp: ConsoleApp? = nil) throws(InitError) {
        self.layout = layout
        self.consoleApp = consoleApp
        control = try ServiceControl()
    }

    var helpLine: String { consoleApp == nil ? ConsoleCommand.helpLine : ConsoleCommand.helpLineWithMenu }

    /// The whole life of the machine.
    public func run() -> Never {
        do {
            try boot()
        } catch {
            fatal(error)
        }
        loop()
    }

    // MARK: boot

    private func boot() throws(InitError) {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signal in Self.handledSignals { sigaddset(&blocked, signal) }
        sigprocmask(SIG_BLOCK, &blocked, nil)
        signal(SIGPIPE, SIG_IGN)
        signalDescriptor = targe_signalfd(&blocked)
        guard signalDescriptor >= 0 else { throw InitError("signalfd", errno: errno) }

        console.say("Targe appliance starting (pid \(getpid()))")
        // Ctrl-Alt-Del becomes SIGINT, a clean shutdown, rather than an instant reset.
        _ = targe_ctrl_alt_del_signals()
        try kernelMounts.mountAll()
        Console.attachIfMissing()

        let modules = ModuleLoader(directory: layout.modules).loadAll()
        console.say("loaded \(modules.loaded.count) kernel modules" + (modules.loaded.isEmpty ? "" : ": \(modules.loaded.joined(separator: " "))"))
        for failure in modules.failures { console.say("warning: \(failure)") }
        powerButtons = PowerButton.open()

        chooseConfig()
        configureNetwork()
        startService()
        console.say(helpLine)
    }

    func startService() {
        let executable = Self.executablePath()
        let supervisor = ServiceSupervisor(
            executable: executable, arguments: ["serve", "--config", configPath], console: console, control: control,
            onReady: { [unowned self, console] listening in
                var address = listening
                if let current = self.currentAddress, listening.hasPrefix("0.0.0.0:") {
                    address = current + listening.dropFirst("0.0.0.0".count)
                }
                console.say("ready: iSCSI target listening on \(address) (config \(self.configPath))")
            })
        self.supervisor = supervisor
        publishDetail()
        supervisor.start(now: MonotonicClock.now())
    }

    func publishDetail() {
        control.publish(control.state, detail: "network \(networkSummary); config \(configPath)")
    }

    static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "/proc/self/exe" }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: the end

    /// Stops the service (waiting for its logout and flush), then the machine.
    func shutDown(_ action: Shutdown.Action) -> Never {
        console.say(action == .powerOff ? "shutting down: power off" : "shutting down: reboot")
        if let supervisor {
            supervisor.stop(now: MonotonicClock.now())
            let deadline = MonotonicClock.now() + ServiceSupervisor.stopGrace + 5
            while supervisor.childPID != nil && MonotonicClock.now() < deadline {
                _ = step(timeoutUntil: min(deadline, supervisor.nextDeadline ?? deadline))
            }
        }
        Shutdown(console: console, kernelMounts: kernelMounts, diskMounts: diskMounts).finish(action)
    }

    /// A readable reason on the console, a pause to read it, then a clean power-off.
    func fatal(_ error: InitError) -> Never {
        console.say("FATAL: \(error)")
        console.say("cannot continue; powering off in 10 s")
        let until = MonotonicClock.now() + 10
        while MonotonicClock.now() < until { usleep(200_000) }
        if let pid = supervisor?.childPID { kill(pid, SIGTERM) }
        Shutdown(console: console, kernelMounts: kernelMounts, diskMounts: diskMounts).finish(.powerOff)
    }

    /// For when even ServiceControl cannot be made (no eventfd): say so and power off.
    public static func fatalBeforeStart(_ error: InitError) -> Never {
        let console = Console()
        console.say("FATAL: \(error); powering off")
        sync()
        _ = targe_power_off()
        while true { pause() }
    }
}
