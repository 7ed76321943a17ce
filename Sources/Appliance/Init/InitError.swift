#if canImport(Glibc)
import Glibc
#endif

/// A boot or shutdown step that failed, with what was being done and the errno if a system
/// call failed, so that the console line alone tells what went wrong.
public struct InitError: Error, Sendable, CustomStringConvertible {
    /// What PID 1 was doing: "mount /proc", "load module virtio_net", ...
    public var step: String
    /// errno of the failed call, 0 when the failure is not a system call's.
    public var code: Int32
    public var detail: String

    public init(_ step: String, errno code: Int32) {
        self.step = step
        self.code = code
        self.detail = String(cString: strerror(code))
    }

    public init(_ step: String, detail: String) {
        self.step = step
        self.code = 0
        self.detail = detail
    }

    public var description: String {
        code == 0 ? "\(step): \(detail)" : "\(step): \(detail) (errno \(code))"
    }
}
