import CLibcap
import CSystemShims
import Config
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// A tiny privileged helper process that opens device files for the unprivileged target and
/// passes the descriptors back over a Unix socket (SCM_RIGHTS).
///
/// It is forked while the process is still root and single-threaded. It keeps only the two
/// capabilities needed to open any file (DAC override and search), sets no_new_privs, dies
/// with its parent, and answers `OpenRequest`s for the device paths the config names (the
/// config file is re-read for every request, so a later reload can add devices). The main
/// process then drops every privilege and opens its devices, at start and later, through it.
public final class PrivilegedOpener: FileOpener, @unchecked Sendable {
    private let socket: Int32
    private var mutex = pthread_mutex_t()
    public let pid: pid_t

    public enum Failure: Error, CustomStringConvertible {
        case socketpair(Int32)
        case fork(Int32)
        public var description: String {
            switch self {
            case let .socketpair(e): return "privileged opener: socketpair failed: \(String(cString: strerror(e)))"
            case let .fork(e): return "privileged opener: fork failed: \(String(cString: strerror(e)))"
            }
        }
    }

    /// Forks the helper. `policy` returns the current allowed opens (called in the helper for
    /// every request); `configPath` is the one file it opens read-only on request (nil: none).
    public static func spawn(configPath: String? = nil, policy: @escaping () -> OpenPolicy) throws(Failure) -> PrivilegedOpener {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw .socketpair(errno)
        }
        let child = targe_fork()
        if child < 0 {
            let e = errno
            close(pair[0]); close(pair[1])
            throw .fork(e)
        }
        if child == 0 {
            close(pair[0])
            serve(socket: pair[1], configPath: configPath, policy: policy)  // never returns
        }
        close(pair[1])
        return PrivilegedOpener(socket: pair[0], pid: child)
    }

    private init(socket: Int32, pid: pid_t) {
        self.socket = socket
        self.pid = pid
        pthread_mutex_init(&mutex, nil)
    }

    deinit {
        close(socket)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pthread_mutex_destroy(&mutex)
    }

    public func openReadWrite(path: String, createSize: UInt64?) -> Result<Int32, OpenFailure> {
        exchange(OpenRequest(path: path, createSize: createSize).encoded())
    }

    /// A listening socket on a portal the config lists (bound and listening; backlog 256):
    /// after the privilege drop a reload's new portal below 1024 is bound here.
    public func bindPortal(host: String, port: Int) -> Result<Int32, OpenFailure> {
        guard let port = UInt16(exactly: port) else { return .failure(OpenFailure(EINVAL)) }
        return exchange(BindRequest(host: host, port: port).encoded())
    }

    /// The config file, open read-only: after the privilege drop a reload reads it here.
    public func openConfig() -> Result<Int32, OpenFailure> {
        exchange(OpenRequest.readConfigRequest)
    }

    private func exchange(_ request: [UInt8]) -> Result<Int32, OpenFailure> {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let sent = request.withUnsafeBytes { targe_send_with_fd(socket, $0.baseAddress, $0.count, -1) }
        guard sent == request.count else { return .failure(OpenFailure(sent < 0 ? errno : EIO)) }
        var reply = [UInt8](repeating: 0, count: 4)
        var fd: Int32 = -1
        let got = reply.withUnsafeMutableBytes { targe_recv_with_fd(socket, $0.baseAddress, 4, &fd) }
        guard got == 4 else {
            if fd >= 0 { close(fd) }
            return .failure(OpenFailure(got < 0 ? errno : EPIPE))
        }
        let code = Int32(bitPattern: UInt32(reply[0]) << 24 | UInt32(reply[1]) << 16 | UInt32(reply[2]) << 8 | UInt32(reply[3]))
        if code != 0 {
            if fd >= 0 { close(fd) }
            return .failure(OpenFailure(code))
        }
        guard fd >= 0 else { return .failure(OpenFailure(EPROTO)) }
        return .success(fd)
    }

    // MARK: the helper process

    private static func serve(socket: Int32, configPath: String?, policy: () -> OpenPolicy) -> Never {
        _ = targe_die_with_parent(SIGKILL)
        // Nothing but the socket and stdio stays open.
        for fd in 3..<Int32(1024) where fd != socket { close(fd) }
        if let failure = restrictToFileAccess() {
            report("cannot restrict its privileges (\(failure)); exiting")
            _exit(1)
        }
        var buffer = [UInt8](repeating: 0, count: OpenRequest.maxPathLength + 64)
        while true {
            var passed: Int32 = -1
            let n = buffer.withUnsafeMutableBytes { targe_recv_with_fd(socket, $0.baseAddress, $0.count, &passed) }
            if passed >= 0 { close(passed) }  // requests never carry descriptors
            if n == 0 { _exit(0) }            // the target is gone
            if n < 0 {
                if errno == EINTR { continue }
                _exit(0)
            }
            let answer = answer(Array(buffer[0..<n]), configPath: configPath, policy: policy)
            let code = UInt32(bitPattern: answer.code)
            let reply: [UInt8] = [UInt8(code >> 24), UInt8((code >> 16) & 0xff), UInt8((code >> 8) & 0xff), UInt8(code & 0xff)]
            _ = reply.withUnsafeBytes { targe_send_with_fd(socket, $0.baseAddress, 4, answer.fd) }
            if answer.fd >= 0 { close(answer.fd) }
        }
    }

    /// One request's answer: an errno (0: success) and the descriptor to pass back (-1: none).
    private static func answer(_ bytes: [UInt8], configPath: String?, policy: () -> OpenPolicy) -> (code: Int32, fd: Int32) {
        if bytes == OpenRequest.readConfigRequest {
            guard let configPath else { return (EACCES, -1) }
            if let unsafe = SafePath.problem(configPath) {
                report("refused: \(unsafe)")
                return (EACCES, -1)
            }
            let fd = open(configPath, O_RDONLY | O_CLOEXEC)
            return fd >= 0 ? (0, fd) : (errno, -1)
        }
        if bytes.count > 1 && bytes[1] == BindRequest.operation {
            guard let request = BindRequest.decode(bytes) else {
                report("malformed bind request; refused")
                return (EINVAL, -1)
            }
            if let refusal = policy().refusal(for: request) {
                report("refused: \(refusal)")
                return (EACCES, -1)
            }
            return listeningSocket(request)
        }
        let request: OpenRequest
        do {
            request = try OpenRequest.decode(bytes)
        } catch {
            report("malformed request (\(error)); refused")
            return (EINVAL, -1)
        }
        if let refusal = policy().refusal(for: request) ?? SafePath.problem(request.path) {
            report("refused: \(refusal)")
            return (EACCES, -1)
        }
        switch DirectFileOpener().openReadWrite(path: request.path, createSize: request.createSize) {
        case let .success(fd):
            // What was opened is what was checked: a regular file or a block device.
            var st = stat()
            let kind = fstat(fd, &st) == 0 ? st.st_mode & S_IFMT : 0
            guard kind == S_IFREG || kind == S_IFBLK else {
                close(fd)
                report("refused: \(request.path) is neither a regular file nor a block device")
                return (EACCES, -1)
            }
            return (0, fd)
        case let .failure(f):
            return (f.code, -1)
        }
    }

    /// A TCP socket bound to the portal and listening, as the target binds its own portals
    /// (SO_REUSEADDR; an IPv6 portal is IPv6 only).
    private static func listeningSocket(_ request: BindRequest) -> (code: Int32, fd: Int32) {
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let isV6 = request.host.contains(":")
        if isV6 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = request.port.bigEndian
            guard inet_pton(AF_INET6, request.host, &v6.sin6_addr) == 1 else { return (EINVAL, -1) }
        } else {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = request.port.bigEndian
            guard inet_pton(AF_INET, request.host, &v4.sin_addr) == 1 else { return (EINVAL, -1) }
        }
        let fd = Glibc.socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return (errno, -1) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if isV6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        let bound = isV6
            ? withUnsafePointer(to: &v6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
            : withUnsafePointer(to: &v4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 256) == 0 else {
            let e = errno
            close(fd)
            return (e, -1)
        }
        return (0, fd)
    }

    /// Bounding set down to DAC override/search and binding low ports, effective+permitted
    /// the same, no_new_privs.
    private static func restrictToFileAccess() -> String? {
        let keep: Set<Int32> = [targe_cap_dac_override(), targe_cap_dac_read_search(), targe_cap_net_bind_service()]
        var cap: Int32 = 0
        while targe_capbset_read(cap) >= 0 {
            if !keep.contains(cap) && targe_capbset_drop(cap) != 0 { return "PR_CAPBSET_DROP(\(cap)): errno \(errno)" }
            cap += 1
        }
        if targe_ambient_clear_all() != 0 && errno != EINVAL { return "ambient: errno \(errno)" }
        if targe_keep_only_file_access_caps() != 0 { return "cap_set_proc: errno \(errno)" }
        if targe_no_new_privs() != 0 { return "no_new_privs: errno \(errno)" }
        return nil
    }

    private static func report(_ text: String) {
        let line = Array("targe privileged opener[\(getpid())]: \(text)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

extension OpenPolicy {
    /// The device paths (and creation sizes) a config names, and the state files of its
    /// mirrors in `stateDirectory` (`<name>.health`, `<name>.bitmap`, created empty).
    public init(config: TargeConfig, stateDirectory: String?) {
        var entries: [Entry] = config.devices.compactMap { device in
            guard case let .path(path) = device.source else { return nil }
            let create: UInt64? = device.create ? device.size.map { device.offset + $0 } : nil
            return Entry(path: path, createSize: create)
        }
        if let stateDirectory {
            for combination in config.combinations where combination.raid == .raid1 {
                let health = MirrorHealth(directory: stateDirectory, combination: combination.name)
                entries.append(Entry(path: health.healthPath, createSize: 0))
                entries.append(Entry(path: health.bitmapPath, createSize: 0))
            }
            for target in config.targets {
                for mapping in target.luns {
                    entries.append(Entry(path: ReservationStateFile.path(directory: stateDirectory, target: target.name,
                                                                         lun: UInt64(mapping.lun)), createSize: 0))
                }
            }
        }
        self.init(entries: entries, portals: config.server.listen.compactMap { portal in
            UInt16(exactly: portal.port).map { BindRequest(host: portal.host, port: $0) }
        })
    }
}
