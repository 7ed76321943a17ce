/// What a reload did, for the caller of `targe reload`, the console menu and the log.
public struct ReloadReport: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// The file was applied (possibly with parts that need a restart).
        case applied
        /// Nothing differs from what runs.
        case unchanged
        /// Committed, but a part failed (`errors`); the next reload tries that part again.
        case incomplete
        /// Nothing was changed: the file is invalid or a change cannot be made live.
        case refused
    }

    public var outcome: Outcome
    /// One line per change made ("target iqn...:c added").
    public var applied: [String] = []
    /// Changes left as they run until a restart, with why.
    public var needsRestart: [String] = []
    /// Why the reload was refused (`file:line: message` for config errors).
    public var errors: [String] = []

    public init(outcome: Outcome, applied: [String] = [], needsRestart: [String] = [], errors: [String] = []) {
        self.outcome = outcome
        self.applied = applied
        self.needsRestart = needsRestart
        self.errors = errors
    }

    public static func refused(_ errors: [String]) -> ReloadReport {
        ReloadReport(outcome: .refused, errors: errors)
    }

    /// The reply's lines: the first says how it went, then one line per item.
    public func render() -> [String] {
        var lines: [String]
        switch outcome {
        case .applied: lines = ["reloaded: \(applied.count) change\(applied.count == 1 ? "" : "s") applied"]
        case .unchanged: lines = ["reloaded: no changes"]
        case .incomplete: lines = ["reload incomplete: \(applied.count) change\(applied.count == 1 ? "" : "s") applied, \(errors.count) failed"]
        case .refused: lines = ["reload refused: nothing was changed"]
        }
        lines += applied.map { "  applied: \($0)" }
        lines += needsRestart.map { "  needs a restart: \($0)" }
        lines += errors.map { "  error: \($0)" }
        return lines
    }
}
