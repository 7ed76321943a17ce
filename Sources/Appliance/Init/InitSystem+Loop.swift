#if canImport(Glibc)
import Glibc
#endif
import CSystemShims
import Config

/// PID 1's poll loop: signals, control requests, the console, the service's output,
/// the power button; and the console commands.
extension InitSystem {
    // MARK: the loop

    func loop() -> Never {
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
    func step(timeoutUntil deadline: Double?) -> Shutdown.Action? {
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

    func handleSignals() -> Shutdown.Action? {
        var action: Shutdown.Action?
        while true {
            let signal = targe_signalfd_read(signalDescriptor)
            if signal <= 0 { return action }
            switch signal {
            case SIGCHLD: reapChildren()
            case SIGHUP: reloadService()
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
    func reapChildren() {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            _ = supervisor?.reaped(pid: pid, status: status, now: MonotonicClock.now())
        }
    }

    func perform(_ request: ServiceControl.Request) -> Shutdown.Action? {
        let now = MonotonicClock.now()
        switch request {
        case .start: if recheckConfig() { supervisor?.start(now: now) }
        case .stop: supervisor?.stop(now: now)
        case .restart: if recheckConfig() { supervisor?.restart(now: now) }
        case .reboot: return .reboot
        case .powerOff: return .powerOff
        case .consoleReturned:
            consoleInput = 0
            supervisor?.holdsOutput = false
            console.say(helpLine)
        }
        return nil
    }

    /// SIGHUP to PID 1 or `reload` on the console: the running service applies the config
    /// file again itself (SIGHUP to `targe serve`); sessions it does not concern go on. Its
    /// log says what was applied. A stopped service reads the file when it starts.
    func reloadService() {
        guard let supervisor, let pid = supervisor.childPID, case .running = supervisor.state else {
            console.say("the iSCSI service is not running; it reads \(configPath) when it starts")
            return
        }
        console.say("asking the iSCSI service (pid \(pid)) to reload \(configPath)")
        kill(pid, SIGHUP)
    }

    func readConsole() -> Shutdown.Action? {
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

    func command(_ command: ConsoleCommand) -> Shutdown.Action? {
        switch command {
        case .status:
            console.say("service \(control.statusLine)" + (MemoryInfo.current().map { "; \($0.summary)" } ?? ""))
        case .start: control.start()
        case .stop: control.stop()
        case .restart: control.restart()
        case .reload: reloadService()
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
    func startConsoleApp() {
        guard let consoleApp else {
            console.say("this build has no setup menu; \(helpLine)")
            return
        }
        let control = self.control
        let path = configPath
        pendingInput = []
        consoleInput = -1
        supervisor?.holdsOutput = true
        do {
            try DetachedThread.start {
                consoleApp(control, path)
                control.submit(.consoleReturned)
            }
        } catch {
            consoleInput = 0
            supervisor?.holdsOutput = false
            console.say("cannot start the setup menu: \(error)")
        }
    }
}
