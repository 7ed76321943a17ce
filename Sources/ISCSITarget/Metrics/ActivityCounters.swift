import ISCSI
import NIOConcurrencyHelpers

/// Logins, logouts and task management functions per target: events a few times a minute,
/// not per command, so a lock around a small table is the simple and right tool.
///
/// Target labels are only ever names of configured targets (or "" for discovery sessions and
/// logins that named no configured target): nothing an initiator sends becomes a label, so
/// the set of series stays bounded whatever the network does.
public final class ActivityCounters: Sendable {
    public enum LoginOutcome: String, Sendable, CaseIterable {
        case ok
        /// CHAP failed or was skipped where it is required (2/01).
        case chapFailure = "chap_failure"
        /// The target's `allow` rules refused the initiator (2/02).
        case aclRefused = "acl_refused"
        /// Everything else: unknown target, protocol errors, limits, timeouts.
        case other

        public init(_ status: LoginStatus) {
            switch status {
            case .success: self = .ok
            case .authenticationFailure: self = .chapFailure
            case .authorizationFailure: self = .aclRefused
            default: self = .other
            }
        }
    }

    public struct Key: Hashable, Sendable {
        public var target: String
        public var what: String
    }

    public struct Snapshot: Sendable, Equatable {
        /// (target, outcome) -> logins.
        public var logins: [Key: UInt64] = [:]
        /// target -> Logout Requests answered.
        public var logouts: [String: UInt64] = [:]
        /// (target, function) -> task management requests.
        public var taskManagement: [Key: UInt64] = [:]
        /// Connections closed at accept by `max-connections` or `max-logins-per-address`.
        public var connectionsRefused: UInt64 = 0
    }

    private let state = NIOLockedValueBox(Snapshot())

    public init() {}

    public func login(target: String?, outcome: LoginOutcome) {
        state.withLockedValue { $0.logins[Key(target: target ?? "", what: outcome.rawValue), default: 0] += 1 }
    }

    public func logout(target: String?) {
        state.withLockedValue { $0.logouts[target ?? "", default: 0] += 1 }
    }

    public func taskManagement(target: String?, function: TaskManagementFunction?) {
        let name = function.map(Self.name) ?? "unknown"
        state.withLockedValue { $0.taskManagement[Key(target: target ?? "", what: name), default: 0] += 1 }
    }

    public func connectionRefused() {
        state.withLockedValue { $0.connectionsRefused += 1 }
    }

    public var snapshot: Snapshot { state.withLockedValue { $0 } }

    static func name(_ function: TaskManagementFunction) -> String {
        switch function {
        case .abortTask: return "abort_task"
        case .abortTaskSet: return "abort_task_set"
        case .clearACA: return "clear_aca"
        case .clearTaskSet: return "clear_task_set"
        case .logicalUnitReset: return "logical_unit_reset"
        case .targetWarmReset: return "target_warm_reset"
        case .targetColdReset: return "target_cold_reset"
        case .taskReassign: return "task_reassign"
        }
    }
}
