/// A service action that failed or is not possible here; `message` is shown on the console
/// as it is, so it should say what happened and, if it helps, what to do.
public struct ServiceControlError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// The supervisor's side of the menu's Service page and of "save and apply". On the
/// appliance PID 1 implements it; elsewhere `UnsupportedServiceControl` stands in.
/// An action may return as soon as it is queued (the menu says "requested", and shows
/// `stateDescription()` again when the Service page comes back); throwing means the
/// request could not even be made. Non-throwing methods satisfy these requirements.
/// (Named -ing so that a concrete supervisor handle can be called ServiceControl.)
public protocol ServiceControlling {
    /// One short line about the iSCSI service, such as "running (pid 42)" or "stopped".
    func stateDescription() -> String
    func start() throws(ServiceControlError)
    func stop() throws(ServiceControlError)
    /// Also how a saved config is applied.
    func restart() throws(ServiceControlError)
    func reboot() throws(ServiceControlError)
    func powerOff() throws(ServiceControlError)
}

/// For `targe menu` on an ordinary host: there is no supervisor to ask, so every action
/// says so instead of pretending to work.
public struct UnsupportedServiceControl: ServiceControlling {
    public static let message = "only available on the appliance (targe running as PID 1);"
        + " here, restart 'targe serve' yourself"

    public init() {}

    public func stateDescription() -> String { "unknown (not running on the appliance)" }
    public func start() throws(ServiceControlError) { throw ServiceControlError("Start is " + Self.message) }
    public func stop() throws(ServiceControlError) { throw ServiceControlError("Stop is " + Self.message) }
    public func restart() throws(ServiceControlError) { throw ServiceControlError("Restart is " + Self.message) }
    public func reboot() throws(ServiceControlError) { throw ServiceControlError("Reboot is " + Self.message) }
    public func powerOff() throws(ServiceControlError) { throw ServiceControlError("Power off is " + Self.message) }
}
