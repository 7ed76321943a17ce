import NIOCore

/// How often one connection may log the same complaint: `burst` lines per `interval`, the
/// rest counted and named in the next line that gets through. An initiator that sends
/// thousands of out-of-window or duplicate commands must not flood the log (and the disk it
/// lives on) with as many warnings.
struct LogRateLimit {
    let interval: TimeAmount
    let burst: Int
    private var windowStart: NIODeadline?
    private var used = 0
    private var suppressed = 0

    init(burst: Int = 5, per interval: TimeAmount = .seconds(10)) {
        self.burst = burst
        self.interval = interval
    }

    /// nil when this line is to be dropped; else how many were dropped since the last one
    /// logged (to append to it).
    mutating func admit(at now: NIODeadline) -> Int? {
        if let start = windowStart, now - start < interval {
            guard used < burst else {
                suppressed += 1
                return nil
            }
        } else {
            windowStart = now
            used = 0
        }
        used += 1
        defer { suppressed = 0 }
        return suppressed
    }
}
