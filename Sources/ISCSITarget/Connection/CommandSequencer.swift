import ISCSI
import NIOConcurrencyHelpers
import NIOCore

/// The command window of one session (RFC 7143 section 4.2.2.1), shared by the session's
/// connections: one ExpCmdSN and MaxCmdSN for all of them, and requests that arrive ahead of
/// their CmdSN parked until it comes up, on whichever connection the earlier ones arrive.
/// Each request is delivered to the connection it came on (connection allegiance), on that
/// connection's event loop. Connections of one session may run on different event loops, so
/// the state is behind a lock; the critical sections are a few dictionary operations.
final class CommandSequencer: Sendable {
    /// What the window hands a connection: a request whose turn came, or a CmdSN that passes
    /// without running anything (its command was aborted ahead of its turn, or its connection
    /// is gone).
    enum Item: Sendable {
        case request(PDU)
        case skipped(cmdSN: UInt32, itt: UInt32)

        var cmdSN: UInt32 {
            switch self {
            case let .request(pdu): return pdu.header.cmdSN
            case let .skipped(cmdSN, _): return cmdSN
            }
        }

        var initiatorTaskTag: UInt32 {
            switch self {
            case let .request(pdu): return pdu.header.initiatorTaskTag
            case let .skipped(_, itt): return itt
            }
        }

        /// The same CmdSN, passing as a no-op.
        var skipped: Item { .skipped(cmdSN: cmdSN, itt: initiatorTaskTag) }
    }

    /// A request with the connection it arrived on.
    struct Request: Sendable {
        var connection: UInt64
        var item: Item
    }

    enum Arrival {
        /// Deliver the arriving request, then the parked ones it unblocked, in order (for
        /// `handOff`; usually none, and an empty array costs no allocation).
        case deliver(then: [Request])
        case parked
        case duplicate
        case outOfWindow(expCmdSN: UInt32, maxCmdSN: UInt32)
    }

    private struct State {
        var expCmdSN: UInt32
        /// Non-immediate commands started and not yet answered: they keep the window closed.
        var active: UInt32 = 0
        var waiting: [UInt32: Request] = [:]
        /// How to hand a request to each connection of the session (on its own event loop).
        var deliverers: [UInt64: @Sendable (Item) -> Void] = [:]
    }

    /// Commands the window admits beyond ExpCmdSN while none is active.
    let window: UInt32
    private let state: NIOLockedValueBox<State>

    init(firstCmdSN: UInt32, window: UInt32) {
        self.window = window
        self.state = NIOLockedValueBox(State(expCmdSN: firstCmdSN))
    }

    /// ExpCmdSN and MaxCmdSN as every response of the session reports them. MaxCmdSN =
    /// ExpCmdSN - 1 closes the window; it never moves backwards because a command becomes
    /// active exactly when ExpCmdSN passes it.
    var numbers: (expCmdSN: UInt32, maxCmdSN: UInt32) {
        state.withLockedValue { Self.numbers($0, window: window) }
    }

    private static func numbers(_ s: State, window: UInt32) -> (expCmdSN: UInt32, maxCmdSN: UInt32) {
        let free = window > s.active ? window - s.active : 0
        return (s.expCmdSN, s.expCmdSN &+ free &- 1)
    }

    private static func inWindow(_ cmdSN: UInt32, _ s: State, window: UInt32) -> Bool {
        let (exp, max) = numbers(s, window: window)
        let offset = cmdSN &- exp
        let maxOffset = max &- exp
        return offset <= maxOffset && maxOffset < 0x8000_0000
    }

    func attach(connection: UInt64, deliver: @escaping @Sendable (Item) -> Void) {
        state.withLockedValue { $0.deliverers[connection] = deliver }
    }

    /// The connection is gone: its parked requests become no-ops so that their CmdSNs still
    /// pass (the other connections' later commands must not wait for them forever); what that
    /// unblocks is handed to its connections. Returns how many connections remain.
    @discardableResult
    func detach(connection: UInt64) -> Int {
        let (ready, remaining): ([Request], Int) = state.withLockedValue { s in
            s.deliverers[connection] = nil
            for (cmdSN, parked) in s.waiting where parked.connection == connection {
                s.waiting[cmdSN] = Request(connection: connection, item: parked.item.skipped)
            }
            return (Self.drain(&s), s.deliverers.count)
        }
        handOff(ready, from: nil)
        return remaining
    }

    /// A non-immediate request arrived on `connection`.
    func arrive(_ pdu: PDU, connection: UInt64) -> Arrival {
        let cmdSN = pdu.header.cmdSN
        return state.withLockedValue { s in
            // Even the next CmdSN waits its turn in the window: while commands fill it
            // (MaxCmdSN = ExpCmdSN - 1) it is ignored, as any command beyond MaxCmdSN is.
            if cmdSN == s.expCmdSN, Self.inWindow(cmdSN, s, window: window) {
                s.expCmdSN &+= 1
                Self.count(.request(pdu), in: &s)
                return .deliver(then: Self.drain(&s))
            }
            guard Self.inWindow(cmdSN, s, window: window) else {
                let (exp, max) = Self.numbers(s, window: window)
                return .outOfWindow(expCmdSN: exp, maxCmdSN: max)
            }
            guard s.waiting[cmdSN] == nil else { return .duplicate }
            s.waiting[cmdSN] = Request(connection: connection, item: .request(pdu))
            return .parked
        }
    }

    /// Takes the parked requests whose turn has come (the lock is held).
    private static func drain(_ s: inout State) -> [Request] {
        var ready: [Request] = []
        while let next = s.waiting.removeValue(forKey: s.expCmdSN) {
            s.expCmdSN &+= 1
            count(next.item, in: &s)
            ready.append(next)
        }
        return ready
    }

    /// A SCSI command takes its place in the window as ExpCmdSN passes it, in the same lock,
    /// so that MaxCmdSN never moves backwards on any connection. The connection that runs it
    /// gives the place back when it answers (or drops) it: `commandEnded`.
    private static func count(_ item: Item, in s: inout State) {
        if case let .request(pdu) = item, pdu.header.initiatorOpcode == .scsiCommand { s.active &+= 1 }
    }

    /// Hands requests for other connections to them (in order per connection); returns the
    /// ones for `local`, for the caller to deliver itself, in order.
    @discardableResult
    func handOff(_ requests: [Request], from local: UInt64?) -> [Item] {
        var mine: [Item] = []
        var others: [(@Sendable (Item) -> Void, Item)] = []
        let deliverers = requests.contains { $0.connection != local } ? state.withLockedValue { $0.deliverers } : [:]
        for request in requests {
            if request.connection == local {
                mine.append(request.item)
            } else if let deliver = deliverers[request.connection] {
                others.append((deliver, request.item))
            }
        }
        for (deliver, item) in others { deliver(item) }
        return mine
    }

    func commandEnded() { state.withLockedValue { $0.active &-= 1 } }

    /// ABORT TASK for a command not seen: true when its CmdSN is still to come (in the window,
    /// not the last one delivered, not parked), so that it will be dropped when it arrives.
    func isStillToCome(_ cmdSN: UInt32) -> Bool {
        state.withLockedValue { s in
            Self.inWindow(cmdSN, s, window: window) && cmdSN != s.expCmdSN &- 1 && s.waiting[cmdSN] == nil
        }
    }

    /// RFC 7143 section 11.5.1: ABORT TASK for a command not received yet makes the target
    /// consider its CmdSN received. It passes as a no-op, and the command, when it comes, is a
    /// duplicate and is dropped. Returns what that unblocks (for `handOff`).
    func markReceived(_ cmdSN: UInt32, itt: UInt32) -> [Request] {
        state.withLockedValue { s in
            guard Self.inWindow(cmdSN, s, window: window), s.waiting[cmdSN] == nil else { return [] }
            s.waiting[cmdSN] = Request(connection: 0, item: .skipped(cmdSN: cmdSN, itt: itt))
            return Self.drain(&s)
        }
    }

    /// A parked command was aborted: its CmdSN still advances the window, as a no-op.
    func neutralize(cmdSN: UInt32, itt: UInt32) {
        state.withLockedValue { s in
            guard let parked = s.waiting[cmdSN], parked.item.initiatorTaskTag == itt else { return }
            s.waiting[cmdSN] = Request(connection: parked.connection, item: parked.item.skipped)
        }
    }
}
