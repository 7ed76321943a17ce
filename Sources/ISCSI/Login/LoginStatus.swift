/// Login status class and detail (RFC 7143 section 11.13.5).
public struct LoginStatus: Error, Sendable, Equatable, CustomStringConvertible {
    public var statusClass: UInt8
    public var detail: UInt8

    public init(_ statusClass: UInt8, _ detail: UInt8) {
        self.statusClass = statusClass
        self.detail = detail
    }

    public static let success = LoginStatus(0, 0)
    public static let initiatorError = LoginStatus(2, 0x00)
    public static let authenticationFailure = LoginStatus(2, 0x01)
    public static let authorizationFailure = LoginStatus(2, 0x02)
    public static let targetNotFound = LoginStatus(2, 0x03)
    public static let targetRemoved = LoginStatus(2, 0x04)
    public static let unsupportedVersion = LoginStatus(2, 0x05)
    public static let tooManyConnections = LoginStatus(2, 0x06)
    public static let missingParameter = LoginStatus(2, 0x07)
    public static let cantIncludeInSession = LoginStatus(2, 0x08)
    public static let sessionTypeNotSupported = LoginStatus(2, 0x09)
    public static let sessionDoesNotExist = LoginStatus(2, 0x0a)
    public static let invalidDuringLogin = LoginStatus(2, 0x0b)
    public static let targetError = LoginStatus(3, 0x00)
    public static let serviceUnavailable = LoginStatus(3, 0x01)
    public static let outOfResources = LoginStatus(3, 0x02)

    public var description: String {
        let name: String
        switch (statusClass, detail) {
        case (0, 0): name = "success"
        case (2, 0x00): name = "initiator error"
        case (2, 0x01): name = "authentication failure"
        case (2, 0x02): name = "authorization failure"
        case (2, 0x03): name = "target not found"
        case (2, 0x04): name = "target removed"
        case (2, 0x05): name = "unsupported version"
        case (2, 0x06): name = "too many connections"
        case (2, 0x07): name = "missing parameter"
        case (2, 0x08): name = "can't include in session"
        case (2, 0x09): name = "session type not supported"
        case (2, 0x0a): name = "session does not exist"
        case (2, 0x0b): name = "invalid request during login"
        case (3, 0x00): name = "target error"
        case (3, 0x01): name = "service unavailable"
        case (3, 0x02): name = "out of resources"
        default: name = "status"
        }
        return "\(name) (\(statusClass)/\(detail))"
    }
}
