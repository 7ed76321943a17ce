import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// The running target's control socket: a Unix stream socket that answers one command line
/// per connection (`status`) with plain text and closes. It is made before any privilege drop
/// with mode 0600, so only the user who started the target (or root) can connect; after the
/// drop the target keeps serving on the descriptor it already holds.
public struct ControlSocket: Sendable {
    public let descriptor: CInt
    public let path: String

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case pathTooLong(String)
        case inUse(String)
        case notASocket(String)
        case call(String, path: String, errno: Int32)
        public var description: String {
            switch self {
            case let .pathTooLong(p): return "control socket path \(p) is longer than 107 bytes"
            case let .inUse(p): return "control socket \(p) is in use: is another targe running with this config?"
            case let .notASocket(p): return "\(p) exists and is not a socket; refusing to replace it"
            case let .call(what, p, e): return "control socket \(p): \(what) failed: \(String(cString: strerror(e))) (errno \(e))"
            }
        }
    }

    /// Where a target keeps its control socket by default: beside its config (the state
    /// directory), so `targe status --config FILE` finds it.
    public static func defaultPath(stateDirectory: String) -> String {
        stateDirectory.hasSuffix("/") ? stateDirectory + "targe.sock" : stateDirectory + "/targe.sock"
    }

    /// Binds and listens. A stale socket from a target that died is replaced; a live one
    /// (something accepts on it) is an error, as is any other file at the path.
    public static func open(path: String) throws(Failure) -> ControlSocket {
        guard var address = unixAddress(path) else { throw .pathTooLong(path) }
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(path) }
            if answers(path) { throw .inUse(path) }
            unlink(path)
        }
        let fd = socket(AF_UNIX, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue) | CInt(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .call("socket", path: path, errno: errno) }
        // The mode is set at bind through the umask: no moment when others could connect.
        let previous = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        let bindErrno = errno
        umask(previous)
        guard bound == 0 else {
            close(fd)
            throw .call("bind", path: path, errno: bindErrno)
        }
        guard listen(fd, 16) == 0 else {
            let e = errno
            close(fd)
            unlink(path)
            throw .call("listen", path: path, errno: e)
        }
        return ControlSocket(descriptor: fd, path: path)
    }

    /// True when something accepts connections at `path`.
    static func answers(_ path: String) -> Bool {
        (try? ControlClient.connect(path: path)).map { close($0); return true } ?? false
    }

    /// Serves commands on `group` until the returned channel closes. `status` produces the
    /// report (`json`: one line of JSON, else text lines); it runs on an event loop, so it
    /// must not block. `reload` applies the config file again and may block: it runs on NIO's
    /// thread pool.
    public func serve(on group: EventLoopGroup, status: @escaping @Sendable (_ json: Bool) -> [String],
                      reload: @escaping @Sendable () -> [String] = { ["error: this target cannot reload"] }) throws -> Channel {
        try ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ControlCommandHandler(status: status, reload: reload))
                }
            }
            .withBoundSocket(descriptor).wait()
    }
}

/// Reads one command line (at most 256 bytes), answers and closes.
final class ControlCommandHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var pending: ByteBuffer?
    private let status: @Sendable (Bool) -> [String]
    private let reload: @Sendable () -> [String]

    init(status: @escaping @Sendable (Bool) -> [String], reload: @escaping @Sendable () -> [String]) {
        self.status = status
        self.reload = reload
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if pending == nil { pending = incoming } else { pending!.writeBuffer(&incoming) }
        guard let buffer = pending else { return }
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > 256 { answer(context: context, ["error: command too long"]) }
            return
        }
        let line = String(decoding: buffer.readableBytesView[..<newline], as: UTF8.self)
            .trimmingCharacters(inSet: [" ", "\r", "\t"])
        switch line {
        case "status": answer(context: context, status(false))
        case "status json": answer(context: context, status(true))
        case "reload":
            pending = nil
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            NIOThreadPool.singleton.runIfActive(eventLoop: loop, reload).whenComplete { result in
                let (handler, context) = bound.value
                switch result {
                case let .success(lines): handler.answer(context: context, lines)
                case let .failure(error): handler.answer(context: context, ["error: \(error)"])
                }
            }
        default: answer(context: context, ["error: unknown command '\(line.prefix(40))'; try: status, status json, reload"])
        }
    }

    private func answer(context: ChannelHandlerContext, _ lines: [String]) {
        pending = nil
        let text = lines.joined(separator: "\n") + "\n"
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(string: text)))
            .whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

extension String {
    func trimmingCharacters(inSet set: Set<Character>) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}

/// The other end: `targe status` and the console menu ask a running target.
public enum ControlClient {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case notRunning(path: String, errno: Int32)
        case io(path: String, errno: Int32)
        public var description: String {
            switch self {
            case let .notRunning(p, e):
                return "no target answers at \(p) (\(String(cString: strerror(e)))): is targe serve running with this config?"
            case let .io(p, e): return "control socket \(p): \(String(cString: strerror(e)))"
            }
        }
    }

    static func connect(path: String) throws(Failure) -> CInt {
        guard var address = unixAddress(path) else { throw .notRunning(path: path, errno: ENAMETOOLONG) }
        let fd = socket(AF_UNIX, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .io(path: path, errno: errno) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw .notRunning(path: path, errno: e)
        }
        return fd
    }

    /// Sends `command` and returns the answer's lines. Blocking, with a timeout (a reload
    /// waits for removed LUs' commands, so it may take longer than a status).
    public static func request(_ command: String, path: String, timeoutSeconds: Int = 5) throws(Failure) -> [String] {
        let fd = try connect(path: path)
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let line = Array((command + "\n").utf8)
        guard line.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == line.count else {
            throw .io(path: path, errno: errno)
        }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else {
                if errno == EINTR { continue }
                throw .io(path: path, errno: errno)
            }
            answer += chunk[..<n]
        }
        var lines = String(decoding: answer, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// The socket address of `path`; nil when the path does not fit sun_path with its NUL.
func unixAddress(_ path: String) -> sockaddr_un? {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    return address
}
