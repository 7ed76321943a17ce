/// How long to wait before starting the service again after it died: 1, 2, 4, ... up to
/// 30 seconds for consecutive failures, back to 1 second once it has stayed up a minute.
/// A config error that kills the service at once then costs one console message every 30
/// seconds, not a flood, while a rare crash is healed quickly.
public struct RestartBackoff: Sendable, Equatable {
    public static let maximumDelay = 30.0
    /// A run at least this long counts as healthy and resets the count.
    public static let healthyRun = 60.0

    public private(set) var consecutiveFailures = 0

    public init() {}

    /// Records a death after `ranFor` seconds; returns the delay before the next start.
    public mutating func failed(ranFor: Double) -> Double {
        if ranFor >= Self.healthyRun { consecutiveFailures = 0 }
        consecutiveFailures += 1
        return Self.delay(afterFailures: consecutiveFailures)
    }

    /// An operator's start or restart forgets the history.
    public mutating func reset() { consecutiveFailures = 0 }

    public static func delay(afterFailures failures: Int) -> Double {
        guard failures > 0 else { return 0 }
        return min(maximumDelay, Double(1 << min(failures - 1, 16)))
    }
}
