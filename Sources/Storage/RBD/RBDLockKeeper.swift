import Dispatch
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif

/// A negative errno from librbd.
struct RBDErrno: Error, Equatable {
    var code: Int32
}

/// The calls a lock keeper makes on an open image (librbd's, through `RBDImage`; a table in
/// the tests). Each blocks for a round trip to the cluster. Errors are negative errno values.
protocol RBDLockClient: Sendable {
    /// true when this client holds the exclusive lock; -ESHUTDOWN once blocklisted.
    func isLockOwner() -> Result<Bool, RBDErrno>
    /// Takes the lock; -EROFS while a live client holds it.
    func acquireLock() -> Int32
    /// Gives the lock up.
    func releaseLock() -> Int32
    /// The holder's client address, nil when nobody holds it.
    func lockOwner() -> Result<String?, RBDErrno>
    /// Blocklists `owner` (all of its client) and breaks its lock.
    func breakLock(owner: String) -> Int32
    /// Whether the client at `address` still watches the image (is alive).
    func isWatching(_ address: String) -> Result<Bool, RBDErrno>
    func metadata(_ key: String) -> String?
    func setMetadata(_ key: String, _ value: String) -> Int32
}

/// Keeps one gateway's hold on a shared RBD image: the gateway holding the image's exclusive
/// lock serves it; the others stand by and watch the holder. Once a second (`tick`):
/// - holding the lock: still holding it? A client that lost it was fenced (another gateway
///   blocklisted it): it must stop and reconnect as a new client (`fenced`).
/// - nobody holds it: take it.
/// - a live gateway holds it: stand by, naming it (the holder writes its name in the
///   image's metadata).
/// - a dead one holds it (its header watch expired: the process died, hung, or lost the
///   cluster): blocklist it first, then break its lock and take it, so that nothing the old
///   holder still had queued can reach the image after the takeover.
/// The lock is taken with `rbd_lock_acquire`, so librbd never hands it to a client that
/// merely asks: moving it is always this decision.
final class RBDLockKeeper: @unchecked Sendable {
    /// Image metadata key under which the holder writes its gateway name.
    static let ownerKey = "targe.gateway"

    private let client: RBDLockClient
    private let gateway: String
    private let device: String
    private let notice: @Sendable (String) -> Void
    private let report: @Sendable (GatewayRole) -> Void
    private let fenced: @Sendable () -> Void
    /// Run at each tick first (the reservations object's watch is renewed if it broke).
    private let maintenance: @Sendable () -> Void
    /// Only `tick` touches these, one tick at a time.
    private var holding = false
    private var lastRole: GatewayRole?
    /// After letting the lock go on request, a free lock is left for the other gateways
    /// until then (taken back if none took it).
    private var yieldUntil: DispatchTime?
    static let yieldInterval = 10.0
    private let stopped = NIOLockedValueBox(false)
    private let queue: DispatchQueue

    init(client: RBDLockClient, gateway: String, device: String, notice: @escaping @Sendable (String) -> Void,
         maintenance: @escaping @Sendable () -> Void = {}, report: @escaping @Sendable (GatewayRole) -> Void, fenced: @escaping @Sendable () -> Void) {
        self.client = client
        self.gateway = gateway
        self.device = device
        self.notice = notice
        self.report = report
        self.fenced = fenced
        self.maintenance = maintenance
        self.queue = DispatchQueue(label: "targe.rbd.lock.\(device)")
    }

    static let interval = 1.0

    func start() {
        queue.async { [self] in run() }
    }

    /// No further tick starts; one running finishes.
    func stop() {
        stopped.withLockedValue { $0 = true }
    }

    /// Stops and waits for a running tick or request to finish, so that the image can be
    /// closed. Never from the keeper's own queue.
    func shutdown() {
        stop()
        queue.sync {}
    }

    private var isStopped: Bool { stopped.withLockedValue { $0 } }

    private func run() {
        guard !stopped.withLockedValue({ $0 }) else { return }
        guard tick() else { return }
        queue.asyncAfter(deadline: .now() + Self.interval) { [self] in run() }
    }

    /// One decision; false once this client was fenced (the keeper is done).
    @discardableResult
    func tick() -> Bool {
        maintenance()
        switch client.isLockOwner() {
        case .failure(let error) where error.code == -ESHUTDOWN:
            return fence("this gateway was blocklisted (another gateway took the image over)")
        case .failure(let error):
            set(.unavailable(reason: "cannot ask the cluster who holds the image's lock: \(Self.describe(error.code))"))
            return true
        case .success(true):
            if !holding { becomeHolder() }
            set(.active)
            return true
        case .success(false):
            if holding {
                holding = false
                return fence("this gateway lost the image's lock")
            }
        }
        switch client.lockOwner() {
        case .failure(let error):
            set(.unavailable(reason: "cannot ask the cluster who holds the image's lock: \(Self.describe(error.code))"))
        case .success(nil):
            if let until = yieldUntil, DispatchTime.now() < until {
                set(.standby(owner: nil))
            } else {
                yieldUntil = nil
                take(from: nil)
            }
        case .success(let owner?):
            switch client.isWatching(owner) {
            case .failure(let error):
                set(.unavailable(reason: "cannot list the image's watchers: \(Self.describe(error.code))"))
            case .success(true):
                set(.standby(owner: client.metadata(Self.ownerKey)))
            case .success(false):
                take(from: owner)
            }
        }
        return true
    }

    /// SET TARGET PORT GROUPS made this gateway's group active: the holder, alive or not, is
    /// fenced (blocklisted: whatever it still has queued cannot land) and the lock taken.
    /// On the keeper's queue, so no tick runs meanwhile. 0 or a negative errno.
    func takeOver() -> Int32 {
        queue.sync {
            guard !isStopped else { return -ESHUTDOWN }
            yieldUntil = nil
            switch client.isLockOwner() {
            case .success(true): return 0
            case .failure(let error): return error.code
            case .success(false): break
            }
            switch client.lockOwner() {
            case .failure(let error): return error.code
            case .success(let owner):
                if let owner {
                    let r = client.breakLock(owner: owner)
                    guard r == 0 || r == -ENOENT else { return r }
                    notice("device \(device): taking the image over on request (SET TARGET PORT GROUPS): its holder "
                           + "\(owner) is blocklisted and its lock broken")
                }
            }
            take(from: nil)
            return holding ? 0 : -EAGAIN
        }
    }

    /// SET TARGET PORT GROUPS made another group active (or this one standby): the lock is
    /// given up and left for the other gateways for a while. 0 or a negative errno.
    func letGo() -> Int32 {
        queue.sync {
            guard !isStopped else { return -ESHUTDOWN }
            guard holding else { return 0 }
            let r = client.releaseLock()
            guard r == 0 else { return r }
            holding = false
            yieldUntil = .now() + Self.yieldInterval
            notice("device \(device): gateway \(gateway) gave the image's lock up on request (SET TARGET PORT GROUPS)")
            set(.standby(owner: nil))
            return 0
        }
    }

    /// This gateway holds the lock now: it says so in the image's metadata, for the other
    /// gateways' status and ALUA reports (harmless if that fails).
    private func becomeHolder() {
        holding = true
        let r = client.setMetadata(Self.ownerKey, gateway)
        if r < 0 { notice("device \(device): could not record this gateway as the lock holder: \(Self.describe(r))") }
    }

    /// Takes the lock; from a dead holder, after blocklisting it.
    private func take(from owner: String?) {
        let previous = owner.flatMap { _ in client.metadata(Self.ownerKey) }
        if let owner {
            let r = client.breakLock(owner: owner)
            guard r == 0 || r == -ENOENT else {
                notice("device \(device): could not fence the dead lock holder \(owner): \(Self.describe(r)); trying again")
                return
            }
            notice("device \(device): the lock holder \(previous.map { "gateway \($0) " } ?? "")(\(owner)) stopped "
                   + "watching the image; it is blocklisted and its lock broken")
        }
        let r = client.acquireLock()
        if r == 0 {
            notice("device \(device): gateway \(gateway) holds the image's lock and serves it")
            becomeHolder()
            set(.active)
        } else if r == -EROFS || r == -EBUSY {
            set(.standby(owner: client.metadata(Self.ownerKey)))  // another gateway was quicker
        } else if r == -ESHUTDOWN {
            _ = fence("this gateway was blocklisted (another gateway took the image over)")
        } else {
            set(.unavailable(reason: "cannot take the image's lock: \(Self.describe(r))"))
        }
    }

    private func fence(_ reason: String) -> Bool {
        notice("device \(device): \(reason); it stops serving and reconnects as a new client")
        set(.unavailable(reason: reason))
        stop()
        fenced()
        return false
    }

    private func set(_ role: GatewayRole) {
        guard role != lastRole else { return }
        lastRole = role
        report(role)
    }

    static func describe(_ code: Int32) -> String {
        "\(String(cString: strerror(-code))) (errno \(-code))"
    }
}
