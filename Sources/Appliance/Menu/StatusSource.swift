/// Why there is no status to show, e.g. "target not running"; shown on the console as it is.
public struct StatusUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Sessions, LUNs and RAID health as the running target reports them. The lines come
/// preformatted because only the target knows what is worth showing; the menu wraps lines
/// longer than the terminal and pages them.
public protocol StatusSource {
    func statusLines() throws(StatusUnavailable) -> [String]
    /// Asks the running target to apply its config file again (`targe reload`): the lines
    /// say what was applied and what needs a restart, or why it was refused.
    func reload() throws(StatusUnavailable) -> [String]
}

/// For `targe menu` on an ordinary host, where no supervisor holds the target's status.
public struct UnsupportedStatusSource: StatusSource {
    public init() {}

    public func statusLines() throws(StatusUnavailable) -> [String] {
        throw StatusUnavailable("Status is only available on the appliance (targe running as PID 1).")
    }

    public func reload() throws(StatusUnavailable) -> [String] {
        throw StatusUnavailable("no target to reload here; run `targe reload --config FILE` where `targe serve` runs")
    }
}
