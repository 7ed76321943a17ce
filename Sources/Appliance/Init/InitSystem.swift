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
/// signals), ServiceControl's eventfd, the console and the service's output. PID 1 must
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

    private let layout: Layout
    private let console = Console()
    private let kernelMounts = KernelMounts()
    private var diskMounts: [String] = []
    private var signalDescriptor: Int32 = -1
    private var consoleInput: Int32 = 0
    private var powerButtons: [Int32] = []
    private var pendingInput: [UInt8] = []
    public let control: ServiceControl
    private var supervisor: ServiceSupervisor?
    private var configPath = ""
    private var configPartitionMounted = false
    private var network = NetworkPlan(settings: nil)
    private var interface: String?
    /// The IPv4 address in use (static or leased), for the ready line and status.
    private var currentAddress: String?
    /// "10.0.2.15/24 via 10.0.2.2", "eth0 10.0.2.15/24 (DHCP)": for status lines.
    private var networkSummary = "not configured"
    /// With `address dhcp`: when to run the exchange again (renewal at T1, or a retry).
    private var dhcpAt: Double?

    /// A full-screen console program (the setup menu) that PID 1 hands the console to on
    /// the `menu` command. It runs on its own thread, gets the service control and the
    /// config file's path, and PID 1 reads the console again when it returns.
    public typealias ConsoleApp = @Sendable (_ control: ServiceControl, _ configPath: String) -> Void
    private let consoleApp: ConsoleApp?

    public init(layout: Layout = Layout(), consoleApp: ConsoleApp? = nil) throws(InitError) {
        self.layout = layout
        self.consoleApp = consoleApp
        control = try ServiceControl()
    }

    private var helpLine: String { consoleApp == nil ? ConsoleCommand.helpLine : ConsoleCommand.helpLineWithMenu }

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

        let modules = ModuleLoader(directory: layout.modules).loadAll { console.say($0) }
        console.say("loaded \(modules.loaded.count) kernel modules" + (modules.loaded.isEmpty ? "" : ": \(modules.loaded.joined(separator: " "))"))
        for failure in modules.failures { console.say("warning: \(failure)") }
        powerButtons = PowerButton.open()

        chooseConfig()
        configureNetwork()
        startService()
        console.say(helpLine)
    }

    private func chooseConfig() {
        var mounted = false
        let label = Appliance.configPartitionLabel
        if let selection = ConfigPartition.select(ConfigPartition.scan(), label: label) {
            do {
                try ConfigPartition.mount(device: selection.device, at: layout.configMount)
                diskMounts.append(layout.configMount)
                mounted = true
                console.say("config partition /dev/\(selection.device) (label \(label)) mounted at \(layout.configMount)")
                if !selection.ignored.isEmpty {
                    console.say("warning: also labelled \(label), ignored: \(selection.ignored.map { "/dev/\($0)" }.joined(separator: " "))")
                }
            } catch {
                console.say("warning: \(error)")
            }
        } else {
            console.say("warning: no ext4 filesystem labelled \(label) found")
        }

        configPartitionMounted = mounted
        let partitionPath = "\(layout.configMount)/\(Appliance.configFileName)"
        let fallbackPath = "\(layout.fallbackDirectory)/\(Appliance.configFileName)"
        let state: ConfigChoice.FileState = mounted ? ConfigChoice.state(ofFileAt: partitionPath) : .missing
        let choice = ConfigChoice.decide(partitionMounted: mounted, file: state, configPath: partitionPath,
                                         fallbackPath: fallbackPath)
        let dataDisk = DataDisk.first(among: DataDisk.scan()).map { "/dev/\($0)" }
        switch choice {
        case let .use(path):
            console.say("using \(path)")
        case let .writeDefault(path):
            if writeDefault(to: path, dataDisk: dataDisk) {
                console.say("first boot: wrote a default config to \(path) sharing \(dataDisk ?? "a 64 MiB RAM disk") as LUN 0")
            }
        case let .fallback(path, reason):
            console.say("warning: \(reason)")
            if writeDefault(to: path, dataDisk: dataDisk) {
                console.say("serving the default config from \(path) (sharing \(dataDisk ?? "a 64 MiB RAM disk"))")
            }
        }
        configPath = choice.servedPath
    }

    /// Before an operator's start or restart: the partition's file is checked again, so a
    /// fixed config replaces the fallback, and a broken one never stops a working service.
    /// Returns false when the request should not go ahead.
    private func recheckConfig() -> Bool {
        guard configPartitionMounted else { return true }
        let partitionPath = "\(layout.configMount)/\(Appliance.configFileName)"
        switch ConfigChoice.state(ofFileAt: partitionPath) {
        case .valid:
            if configPath != partitionPath {
                console.say("\(partitionPath) is valid now; the service will use it")
                configPath = partitionPath
                supervisor?.arguments = ["serve", "--config", configPath]
                publishDetail()
            }
            return true
        case .missing:
            return true
        case let .invalid(errors):
            console.say("\(partitionPath) is not usable; the service keeps its current config (\(configPath)):\n\(errors)")
            return supervisor?.childPID == nil && configPath != partitionPath
        }
    }

    private func writeDefault(to path: String, dataDisk: String?) -> Bool {
        do {
            if let slash = path.lastIndex(of: "/") { try SystemFiles.makeDirectory(String(path[..<slash])) }
            try ConfigWriter.writeAtomically(FirstBootConfig.text(dataDisk: dataDisk), to: path)
            return true
        } catch {
            console.say("cannot write the default config: \(error)")
            return false
        }
    }

    private func configureNetwork() {
        let settings = (try? ConfigParser.load(path: configPath))?.appliance
        network = NetworkPlan(settings: settings)
        for warning in network.warnings { console.say("warning: \(warning)") }
        let result = NetworkSetup().apply(network)
        interface = result.interface
        for failure in result.failures { console.say("warning: \(failure)") }
        switch network.address {
        case let .ipv4(host, _, _):
            currentAddress = NetworkPlan.format(host)
            console.say("network: hostname \(network.hostname), \(interface ?? "no interface") \(network.summary)")
        case .dhcp:
            if interface != nil { runDHCP() }
        case let .none(reason):
            console.say("network: hostname \(network.hostname); \(reason)")
        }
    }

    /// One DHCP exchange (boot, renewal or retry); schedules the next one.
    private func runDHCP() {
        guard let interface else { return }
        let now = MonotonicClock.now()
        do {
            let lease = try DHCPClient(interface: interface, hostname: network.hostname).acquire(timeout: 30)
            for failure in NetworkSetup().apply(lease, on: interface) { console.say("warning: \(failure)") }
            let address = "\(NetworkPlan.format(lease.address))/\(lease.netmask.nonzeroBitCount)"
            if currentAddress != NetworkPlan.format(lease.address) {
                console.say("network: hostname \(network.hostname), \(interface) \(address)"
                    + (lease.router.map { " via \(NetworkPlan.format($0))" } ?? "")
                    + " (DHCP from \(NetworkPlan.format(lease.server)), lease \(lease.leaseSeconds) s)")
            }
            currentAddress = NetworkPlan.format(lease.address)
            networkSummary = "\(interface) \(address) (DHCP)"
            publishDetail()
            dhcpAt = now + Double(max(lease.renewSeconds, 30))
        } catch {
            console.say("warning: \(error); trying again in 60 s (set a static address in [appliance] to avoid DHCP)")
            dhcpAt = now + 60
        }
    }

    private func startService() {
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
        if case .dhcp = network.address {} else { networkSummary = network.summary }
        publishDetail()
        supervisor.start(now: MonotonicClock.now())
    }

    private func publishDetail() {
        control.publish(control.state, detail: "network \(networkSummary); config \(configPath)")
    }

    static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "/proc/self/exe" }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: the loop

    private func loop() -> Never {
        while true {
            let action = step(timeoutUntil: [supervisor?.nextDeadline, dhcpAt].compactMap { $0 }.min())
            if let action { shutDown(action) }
            if let at = dhcpAt, MonotonicClock.now() >= at {
                dhcpAt = nil
                runDHCP()
            }
        }
    }

    /// One poll round; returns a shutdown action when one was requested.
    private func step(timeoutUntil deadline: Double?) -> Shutdown.Action? {
        var fds = [pollfd(fd: signalDescriptor, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: control.wakeDescriptor, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: consoleInput, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: supervisor?.outputDescriptor ?? -1, events: Int16(POLLIN), revents: 0)]
            + powerButtons.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let timeout = deadline.map { Int32(max(0, min(60_000, ($0 - MonotonicClock.now()) * 1000 + 1))) } ?? -1
        let ready = poll(&fds, nfds_t(fds.count), timeout)
        if ready < 0 && errno != EINTR {
            console.say("poll failed: \(String(cString: strerror(errno)))")
            sleep(1)
        }
        var action: Shutdown.Action?
        if fds[3].revents != 0 { supervisor?.drainOutput() }
        if fds[0].revents != 0 { action = handleSignals() ?? action }
        if fds[1].revents != 0 {
            for request in control.takeRequests() { action = perform(request) ?? action }
        }
        if fds[2].revents != 0 { action = readConsole() ?? action }
        for (i, fd) in powerButtons.enumerated() where fds[4 + i].revents != 0 && PowerButton.pressed(on: fd) {
            console.say("power button pressed: powering off")
            action = .powerOff
        }
        supervisor?.tick(now: MonotonicClock.now())
        return action
    }

    private func handleSignals() -> Shutdown.Action? {
        var action: Shutdown.Action?
        while true {
            let signal = targe_signalfd_read(signalDescriptor)
            if signal <= 0 { return action }
            switch signal {
            case SIGCHLD: reapChildren()
            case SIGHUP: if recheckConfig() { supervisor?.restart(now: MonotonicClock.now()) }
            case SIGUSR1:
                console.say("signal \(signal): rebooting")
                action = .reboot
            default:
                console.say("signal \(signal): powering off")
                action = .powerOff
            }
        }
    }

    /// Every exited child: the service (handled by the supervisor) or an orphan that the
    /// kernel re-parented to PID 1 (just reaped, so no zombies pile up).
    private func reapChildren() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            _ = supervisor?.reaped(pid: pid, status: status, now: MonotonicClock.now())
        }
    }

    private func perform(_ request: ServiceControl.Request) -> Shutdown.Action? {
        let now = MonotonicClock.now()
        switch request {
        case .start: if recheckConfig() { supervisor?.start(now: now) }
        case .stop: supervisor?.stop(now: now)
        case .restart: if recheckConfig() { supervisor?.restart(now: now) }
        case .reboot: return .reboot
        case .powerOff: return .powerOff
        case .consoleReturned:
            consoleInput = 0
            console.say(helpLine)
        }
        return nil
    }

    private func readConsole() -> Shutdown.Action? {
        var chunk = [UInt8](repeating: 0, count: 512)
        let n = chunk.withUnsafeMutableBytes { read(consoleInput, $0.baseAddress, $0.count) }
        if n <= 0 {
            if n < 0 && (errno == EINTR || errno == EAGAIN) { return nil }
            consoleInput = -1  // no console input (EOF): keep supervising without it
            return nil
        }
        pendingInput.append(contentsOf: chunk[0..<n])
        var action: Shutdown.Action?
        while let newline = pendingInput.firstIndex(where: { $0 == 10 || $0 == 13 }) {
            let line = String(decoding: pendingInput[..<newline], as: UTF8.self)
            pendingInput.removeSubrange(...newline)
            action = command(ConsoleCommand.parse(line)) ?? action
        }
        if pendingInput.count > 4096 { pendingInput = [] }
        return action
    }

    private func command(_ command: ConsoleCommand) -> Shutdown.Action? {
        switch command {
        case .status:
            console.say("service \(control.statusLine)" + (MemoryInfo.current().map { "; \($0.summary)" } ?? ""))
        case .start: control.start()
        case .stop: control.stop()
        case .restart: control.restart()
        case .reboot: control.reboot()
        case .powerOff: control.powerOff()
        case .help: console.say(helpLine)
        case .menu: startConsoleApp()
        case .empty: break
        case let .unknown(word): console.say("unknown command '\(word)'; \(helpLine)")
        }
        return nil
    }

    /// Hands the console to the console app on a thread of its own; PID 1 stops reading
    /// the console until the app's thread reports back through ServiceControl.
    private func startConsoleApp() {
        guard let consoleApp else {
            console.say("this build has no setup menu; \(helpLine)")
            return
        }
        let control = self.control
        let path = configPath
        pendingInput = []
        consoleInput = -1
        do {
            try DetachedThread.start {
                consoleApp(control, path)
                control.submit(.consoleReturned)
            }
        } catch {
            consoleInput = 0
            console.say("cannot start the setup menu: \(error)")
        }
    }

    // MARK: the end

    /// Stops the service (waiting for its logout and flush), then the machine.
    private func shutDown(_ action: Shutdown.Action) -> Never {
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
    private func fatal(_ error: InitError) -> Never {
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
