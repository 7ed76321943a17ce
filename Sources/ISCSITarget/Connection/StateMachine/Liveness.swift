import NIOCore

/// Whether an idle initiator is still there (`nop-interval`, `nop-timeout`): after
/// `interval` without a PDU from it, a NOP-In ping; without any PDU `timeout` after that,
/// it is gone. Any PDU counts as an answer. Times are given, so tests need no clock.
struct Liveness {
    enum Verdict: Equatable {
        case wait
        /// Send a NOP-In that asks for an answer.
        case ping
        /// The ping went unanswered: drop the connection.
        case gone
    }

    let interval: TimeAmount
    let timeout: TimeAmount
    private var lastReceive: NIODeadline
    private var pingDeadline: NIODeadline?

    init(interval: TimeAmount, timeout: TimeAmount, now: NIODeadline) {
        self.interval = interval
        self.timeout = timeout
        lastReceive = now
    }

    mutating func received(at now: NIODeadline) {
        lastReceive = now
        pingDeadline = nil
    }

    mutating func check(at now: NIODeadline) -> Verdict {
        if let deadline = pingDeadline { return now >= deadline ? .gone : .wait }
        guard now - lastReceive >= interval else { return .wait }
        pingDeadline = now + timeout
        return .ping
    }
}
