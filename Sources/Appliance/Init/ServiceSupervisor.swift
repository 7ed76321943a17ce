#if canImport(Glibc)
import Glibc
#endif

/// Runs `targe serve --config FILE` as a child of PID 1 and keeps it running.
///
/// The child starts as root (so it can bind and fork its privileged opener) and drops to
/// `[server] user` itself. Its stdout comes through a pipe, so PID 1 sees its `listening
/// on` lines and can say when the appliance is ready; its stderr (the log) comes through the
/// same pipe, so that while the setup menu owns the console the log can be held back and
/// shown when the menu returns. If it dies it is started again after a backoff; a stop sends SIGTERM (it
/// logs sessions out and flushes) and SIGKILL only after `stopGrace` seconds.
/// Not thread-safe: only PID 1's loop calls it (other threads go through ServiceControl).
public final class ServiceSupervisor {
    public static let stopGrace = 25.0

    public let executable: String
    /// Taken at each start, so a restart can switch to another config file.
    public var arguments: [String]
    private let console: Console
    private let control: ServiceControl
    /// Called with the first `listening on` line of each start.
    private let onReady: (String) -> Void

    private(set) public var state: ServiceState = .stopped { didSet { control.publish(state) } }
    private var pid: pid_t = 0
    private var startedAt = 0.0
    private var backoff = RestartBackoff()
    private var restartAt: Double?
    private var killAt: Double?
    /// After the current child has gone: start again (a restart) or stay stopped.
    private var startWhenGone = false
    private var announcedReady = false
    private(set) public var outputDescriptor: Int32 = -1
    private var partialLine: [UInt8] = []
    /// While the setup menu owns the console: output lines kept back (the newest
    /// `heldLimit`), shown when holding ends.
    public var holdsOutput = false {
        didSet { if oldValue && !holdsOutput { releaseHeldOutput() } }
    }
    private var held: [String] = []
    private var heldDropped = 0
    static let heldLimit = 40

    public init(executable: String, arguments: [String], console: Console, control: ServiceControl,
                onReady: @escaping (String) -> Void) {
        self.executable = executable
        self.arguments = arguments
        self.console = console
        self.control = control
        self.onReady = onReady
    }

    public var childPID: pid_t? { pid > 0 ? pid : nil }

    // MARK: requests

    public func start(now: Double) {
        backoff.reset()
        if pid > 0 {
            if case .stopping = state { startWhenGone = true }  // restart once it is down
            return
        }
        spawn(now: now)
    }

    public func stop(now: Double) {
        startWhenGone = false
        restartAt = nil
        guard pid > 0 else {
            state = .stopped
            return
        }
        if case .stopping = state { return }
        console.say("stopping the iSCSI service (pid \(pid)): sessions are logged out and devices flushed")
        kill(pid, SIGTERM)
        killAt = now + Self.stopGrace
        state = .stopping(pid: pid)
    }

    public func restart(now: Double) {
        backoff.reset()
        if pid > 0 {
            stop(now: now)
            startWhenGone = true
        } else {
            restartAt = nil
            spawn(now: now)
        }
    }

    // MARK: events

    /// A child PID 1 reaped; true if it was the service.
    public func reaped(pid child: pid_t, status: Int32, now: Double) -> Bool {
        guard child == pid, pid > 0 else { return false }
        drainOutput()
        let wasStopping: Bool
        if case .stopping = state { wasStopping = true } else { wasStopping = false }
        pid = 0
        killAt = nil
        closeOutput()
        let how = Self.describe(status: status)
        if wasStopping {
            console.say("iSCSI service stopped (\(how))")
            if startWhenGone {
                startWhenGone = false
                spawn(now: now)
            } else {
                state = .stopped
            }
            return true
        }
        let delay = backoff.failed(ranFor: now - startedAt)
        restartAt = now + delay
        state = .waitingToRestart(seconds: delay, failures: backoff.consecutiveFailures)
        console.say("iSCSI service \(how) after \(Int(now - startedAt)) s; starting it again in \(Int(delay)) s")
        return true
    }

    /// Timers: the restart after a backoff, the SIGKILL after a stop's grace period.
    public func tick(now: Double) {
        if let at = killAt, now >= at, pid > 0 {
            console.say("iSCSI service did not stop within \(Int(Self.stopGrace)) s; killing it")
            kill(pid, SIGKILL)
            killAt = nil
        }
        if let at = restartAt, now >= at, pid == 0 {
            restartAt = nil
            spawn(now: now)
        }
    }

    /// The earliest timer, for poll's timeout.
    public var nextDeadline: Double? {
        [killAt, restartAt].compactMap { $0 }.min()
    }

    /// Reads what the child printed; forwards whole lines to the console.
    public func drainOutput() {
        guard outputDescriptor >= 0 else { return }
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(outputDescriptor, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                if n == 0 { closeOutput() }  // the child (and its opener) closed stdout
                return
            }
            partialLine.append(contentsOf: chunk[0..<n])
            while let newline = partialLine.firstIndex(of: 10) {
                let line = String(decoding: partialLine[..<newline], as: UTF8.self)
                partialLine.removeSubrange(...newline)
                handle(line: line)
            }
        }
    }

    private func handle(line: String) {
        if holdsOutput {
            held.append(line)
            if held.count > Self.heldLimit {
                held.removeFirst()
                heldDropped += 1
            }
        } else {
            console.raw("targe serve: \(line)\n")
        }
        if line.hasPrefix("listening on "), !announcedReady, pid > 0 {
            announcedReady = true
            state = .running(pid: pid)
            onReady(String(line.dropFirst("listening on ".count)))
        }
    }

    private func releaseHeldOutput() {
        if heldDropped > 0 { console.say("\(heldDropped) earlier service log lines from while the menu was open are not shown") }
        for line in held { console.raw("targe serve: \(line)\n") }
        held = []
        heldDropped = 0
    }

    // MARK: process

    private func spawn(now: Double) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            failToSpawn(InitError("pipe for the service's output", errno: errno), now: now)
            return
        }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)

        // PID 1 blocks the signals it reads through a signalfd; the child must not inherit
        // that mask or default-less dispositions.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let command: [String] = [executable] + arguments
        let argv = command.map { strdup($0) } + [nil]
        let environment: [String] = ["PATH=/usr/bin:/bin", "HOME=/", "LANG=C.UTF-8"]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            failToSpawn(InitError("start \(executable)", errno: rc), now: now)
            return
        }
        pid = child
        restartAt = nil
        startedAt = now
        announcedReady = false
        partialLine = []
        outputDescriptor = fds[0]
        state = .starting(pid: child)
        console.say("starting the iSCSI service: \(([executable] + arguments).joined(separator: " ")) (pid \(child))")
    }

    private func failToSpawn(_ error: InitError, now: Double) {
        let delay = backoff.failed(ranFor: 0)
        restartAt = now + delay
        state = .waitingToRestart(seconds: delay, failures: backoff.consecutiveFailures)
        console.say("cannot start the iSCSI service: \(error); trying again in \(Int(delay)) s")
    }

    private func closeOutput() {
        if outputDescriptor >= 0 { close(outputDescriptor) }
        outputDescriptor = -1
        if !partialLine.isEmpty {
            console.raw("targe serve: \(String(decoding: partialLine, as: UTF8.self))\n")
            partialLine = []
        }
    }

    static func describe(status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        return "was killed by signal \(signal)"
    }
}
