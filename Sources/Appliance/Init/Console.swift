#if canImport(Glibc)
import Glibc
#endif

/// PID 1's console: every message is one line with a `targe: ` prefix, written straight to
/// the descriptor (no stdio buffering, so nothing is lost if the machine powers off next).
public struct Console: Sendable {
    public let fd: Int32

    public init(fd: Int32 = 1) { self.fd = fd }

    public func say(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            raw("targe: \(line)\n")
        }
    }

    /// Text as is (lines forwarded from the service already carry their own prefix).
    public func raw(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Makes descriptors 0, 1 and 2 the console if the kernel could not open it before
    /// starting PID 1 (it can once devtmpfs is mounted).
    public static func attachIfMissing(path: String = "/dev/console") {
        guard fcntl(1, F_GETFD) < 0 else { return }
        let fd = open(path, O_RDWR | O_NOCTTY)
        guard fd >= 0 else { return }
        for target in Int32(0)...2 where fd != target { dup2(fd, target) }
        if fd > 2 { close(fd) }
    }
}
