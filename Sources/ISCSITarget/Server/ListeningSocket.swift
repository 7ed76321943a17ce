import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// A portal's listening socket, bound and listening before any thread exists, so that the
/// process can drop its privileges before the event loops start and then hand the socket
/// to SwiftNIO (`ServerBootstrap.withBoundSocket`).
public struct ListeningSocket: Sendable {
    public let descriptor: CInt
    public let host: String
    public let port: Int

    public enum Failure: Error, CustomStringConvertible {
        case address(String, Int, String)
        case call(String, String, Int, errno: Int32)
        public var description: String {
            switch self {
            case let .address(host, port, why): return "cannot listen on \(host):\(port): \(why)"
            case let .call(what, host, port, e):
                return "cannot listen on \(host):\(port): \(what) failed: \(String(cString: strerror(e))) (errno \(e))"
            }
        }
    }

    public static func open(host: String, port: Int, backlog: CInt = 256) throws(Failure) -> ListeningSocket {
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: host, port: port)
        } catch {
            throw .address(host, port, "not a numeric IPv4 or IPv6 address")
        }
        let family: CInt = address.protocol == .inet6 ? AF_INET6 : AF_INET
        let fd = socket(family, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue) | CInt(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .call("socket", host, port, errno: errno) }
        var one: CInt = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
        if family == AF_INET6 {
            // `[::]` and `0.0.0.0` are separate portals in the config: keep them separate.
            setsockopt(fd, CInt(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<CInt>.size))
        }
        let bound = address.withSockAddr { sa, len in bind(fd, sa, socklen_t(len)) }
        guard bound == 0 else {
            let e = errno
            Glibc.close(fd)
            throw .call("bind", host, port, errno: e)
        }
        guard listen(fd, backlog) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw .call("listen", host, port, errno: e)
        }
        return ListeningSocket(descriptor: fd, host: host, port: port)
    }

    /// Takes over a socket bound and listening elsewhere (the privileged helper's).
    public init(descriptor: CInt, host: String, port: Int) {
        self.descriptor = descriptor
        self.host = host
        self.port = port
    }

    /// Closes a socket that was never handed to the server (a reload that did not commit).
    public func close() {
        _ = Glibc.close(descriptor)
    }
}
