import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// The shared state of the `aio` engine: one Linux AIO context (with its eventfd) per event
/// loop, created the first time a device submits on that loop and shared by every aio device,
/// plus the range locks of the files they use.
///
/// The target creates one at start and hands it to `DeviceOpener`; contexts go away when
/// their loop shuts down (NIO closes the eventfd channel) or on `shutdown()`. Nothing here
/// starts a thread, so an engine may be created before the privilege drop.
public final class AIOEngine: Sendable {
    /// Requests one loop keeps in the kernel at once; more wait in the loop's backlog.
    public let queueDepth: Int
    private let contexts = NIOLockedValueBox<[ObjectIdentifier: AIOContext]>([:])
    private let rangeLocks = NIOLockedValueBox<[FileIdentity: WeakRangeLock]>([:])

    struct FileIdentity: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private struct WeakRangeLock {
        weak var lock: AIORangeLock?
    }

    public init(queueDepth: Int = 256) {
        precondition(queueDepth > 0, "queue depth must be positive")
        self.queueDepth = queueDepth
    }

    /// The context of `loop`, created (and its eventfd registered) on first use. On the loop only.
    func context(for loop: EventLoop) throws(StorageError) -> AIOContext {
        loop.preconditionInEventLoop()
        let key = ObjectIdentifier(loop)
        // Only `loop` itself creates its entry, so a miss cannot race with another creator.
        if let existing = contexts.withLockedValue({ $0[key] }) { return existing }
        let created = try AIOContext(loop: loop, depth: queueDepth, engine: self)
        contexts.withLockedValue { $0[key] = created }
        created.start()
        return created
    }

    /// Called by a context that closed; the next request on its loop makes a new one.
    func forget(_ context: AIOContext) {
        let key = ObjectIdentifier(context.loop)
        contexts.withLockedValue { contexts in
            if contexts[key] === context { contexts[key] = nil }
        }
    }

    /// Number of live per-loop contexts (tests).
    var contextCount: Int { contexts.withLockedValue { $0.count } }

    /// The range lock shared by every aio device on the file with this identity.
    func rangeLock(for identity: FileIdentity) -> AIORangeLock {
        rangeLocks.withLockedValue { locks in
            if let lock = locks[identity]?.lock { return lock }
            locks = locks.filter { $0.value.lock != nil }
            let lock = AIORangeLock()
            locks[identity] = WeakRangeLock(lock: lock)
            return lock
        }
    }

    /// Closes every context; requests in flight finish first, later ones open new contexts.
    /// Returns when each loop has done so (must not be called on one of those loops).
    public func shutdown() {
        let all = contexts.withLockedValue { Array($0.values) }
        for context in all {
            let done = context.loop.submit { context.close() }
            _ = try? done.wait()
        }
    }
}
