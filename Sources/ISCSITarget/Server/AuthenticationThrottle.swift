import NIOCore

/// CHAP failures per initiator address: after a few within a minute, that address's failed
/// logins are answered later and later (1 s, doubling, at most 30 s), so guessing secrets is
/// slow while nobody else waits. With `max-logins-per-address` capping the logins one address
/// has open, the answers' delay caps its guessing rate. A value: the registry keeps it under
/// its lock; tests drive it with plain times.
struct AuthenticationThrottle {
    /// Failures from one address within `window` that are answered at once.
    static let freeFailures = 3
    static let window = TimeAmount.seconds(60)
    static let maxDelay = TimeAmount.seconds(30)
    /// Addresses remembered at most (a flood of addresses cannot grow this without bound).
    static let maxAddresses = 4096

    struct Record {
        var failures: Int
        var last: NIODeadline
    }

    private(set) var records: [[UInt8]: Record] = [:]

    /// What a failure from `address` at `now` costs: how long its answer waits, and a line
    /// to log when the address starts being slowed (and every tenth failure after).
    mutating func failed(from address: [UInt8], at now: NIODeadline) -> (delay: TimeAmount, notice: String?) {
        if records.count >= Self.maxAddresses { forgetExpired(at: now) }
        if records.count >= Self.maxAddresses { records.removeAll() }
        var record = records[address] ?? Record(failures: 0, last: now)
        if now - record.last > Self.window { record.failures = 0 }
        record.failures += 1
        record.last = now
        records[address] = record
        let over = record.failures - Self.freeFailures
        guard over > 0 else { return (.zero, nil) }
        let delay = min(Self.maxDelay, .seconds(Int64(1) << Int64(min(over - 1, 16))))
        let notice = over == 1 || over % 10 == 0
            ? "\(record.failures) CHAP failures within \(Self.window.nanoseconds / 1_000_000_000) s; "
              + "this address's failed logins are now answered after \(delay.nanoseconds / 1_000_000_000) s"
            : nil
        return (delay, notice)
    }

    mutating func forgetExpired(at now: NIODeadline) {
        records = records.filter { now - $0.value.last <= Self.window }
    }
}
