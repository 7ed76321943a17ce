#if canImport(Glibc)
import Glibc
#endif
import CSystemShims

/// What the iSCSI service is doing, as the console (and the setup menu) show it.
public enum ServiceState: Sendable, Equatable, CustomStringConvertible {
    case stopped
    /// Started, not yet listening.
    case starting(pid: Int32)
    /// Listening on its portals.
    case running(pid: Int32)
    /// Asked to stop (SIGTERM: it logs sessions out and flushes), not gone yet.
    case stopping(pid: Int32)
    /// Died; started again after the backoff.
    case waitingToRestart(seconds: Double, failures: Int)

    public var description: String {
        switch self {
        case .stopped: return "stopped"
        case let .starting(pid): return "starting (pid \(pid))"
        case let .running(pid): return "running (pid \(pid))"
        case let .stopping(pid): return "stopping (pid \(pid))"
        case let .waitingToRestart(seconds, failures):
            return "died \(failures) time\(failures == 1 ? "" : "s") in a row; restarting in \(Int(seconds.rounded(.up))) s"
        }
    }
}

/// The handle the console UI (the interim command loop now, the setup menu later) uses to
/// control the service and the machine. Safe to call from any thread: a call only queues
/// the request and wakes PID 1's loop, which carries it out; `state` is the loop's latest
/// snapshot. PID 1 stays single-threaded in everything that forks or signals.
public final class ServiceControl: @unchecked Sendable {
    public enum Request: Sendable, Equatable {
        case start, stop, restart, reboot, powerOff
        /// The console app (setup menu) has returned: PID 1 reads the console again.
        case consoleReturned
    }

    private var mutex = pthread_mutex_t()
    private var pending: [Request] = []
    private var snapshot: ServiceState = .stopped
    private var detail = ""
    /// Readable when requests are pending; PID 1 polls it.
    public let wakeDescriptor: Int32

    public init() throws(InitError) {
        let fd = targe_eventfd()
        guard fd >= 0 else { throw InitError("eventfd for service control", errno: errno) }
        wakeDescriptor = fd
        pthread_mutex_init(&mutex, nil)
    }

    deinit {
        close(wakeDescriptor)
        pthread_mutex_destroy(&mutex)
    }

    public func start() { submit(.start) }
    public func stop() { submit(.stop) }
    public func restart() { submit(.restart) }
    /// Stops the service cleanly, unmounts and reboots the machine.
    public func reboot() { submit(.reboot) }
    /// Stops the service cleanly, unmounts and powers the machine off.
    public func powerOff() { submit(.powerOff) }

    public var state: ServiceState { locked { snapshot } }

    /// One short line, "running (pid 42)": what the setup menu's Service page shows.
    public func stateDescription() -> String { locked { snapshot.description } }

    /// One line for a status display: the state plus where it serves and from which config.
    public var statusLine: String { locked { detail.isEmpty ? snapshot.description : "\(snapshot); \(detail)" } }

    // MARK: for PID 1's loop

    func submit(_ request: Request) {
        locked { pending.append(request) }
        var one: UInt64 = 1
        _ = write(wakeDescriptor, &one, 8)
    }

    /// The queued requests, oldest first; clears the wake-up.
    func takeRequests() -> [Request] {
        var counter: UInt64 = 0
        _ = read(wakeDescriptor, &counter, 8)
        return locked {
            defer { pending = [] }
            return pending
        }
    }

    func publish(_ state: ServiceState, detail: String? = nil) {
        locked {
            snapshot = state
            if let detail { self.detail = detail }
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}

/// The setup menu's Service page and "save and apply" queue their requests to PID 1's loop.
extension ServiceControl: ServiceControlling {}
