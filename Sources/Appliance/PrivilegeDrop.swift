import CLibcap
#if canImport(Glibc)
import Glibc
#endif

/// Gives up root for good: after this the process runs as an unprivileged user with every
/// capability set empty (effective, permitted, inheritable, ambient and bounding) and
/// no_new_privs set, so nothing it executes can regain privilege.
///
/// Capability sets are per thread, so this must run while the process has exactly one
/// thread: after the portals are bound and the devices opened, before the event loops and
/// the I/O pool start (they inherit the empty sets). The order matters: the bounding set
/// can only be shrunk while CAP_SETPCAP is still held, i.e. before the uid change.
public enum PrivilegeDrop {
    public struct Identity: Sendable, Equatable {
        public var name: String
        public var uid: uid_t
        public var gid: gid_t
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case unknownUser(String)
        case refusingRoot(String)
        case step(String, errno: Int32)
        case multipleThreads(Int)

        public var description: String {
            switch self {
            case let .unknownUser(name): return "no such user '\(name)' (give a user name from /etc/passwd or a numeric uid)"
            case let .refusingRoot(name): return "user '\(name)' is root: dropping privileges to it would drop nothing"
            case let .step(what, e): return "privilege drop failed at \(what): \(String(cString: strerror(e))) (errno \(e))"
            case let .multipleThreads(n): return "privilege drop needs a single-threaded process, found \(n) threads"
            }
        }
    }

    /// Looks up a user by name or numeric uid (`user 65534`). Numeric ids need no NSS,
    /// which matters for a statically linked appliance binary.
    public static func resolve(_ user: String) throws(Failure) -> Identity {
        if let uid = UInt32(user) {
            if let pw = getpwuid(uid) { return Identity(name: String(cString: pw.pointee.pw_name), uid: uid, gid: pw.pointee.pw_gid) }
            return Identity(name: user, uid: uid, gid: uid)
        }
        guard let pw = getpwnam(user) else { throw .unknownUser(user) }
        return Identity(name: user, uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid)
    }

    /// Drops to `identity`. Call only as root, with one thread.
    public static func drop(to identity: Identity) throws(Failure) {
        guard identity.uid != 0 else { throw .refusingRoot(identity.name) }
        let threads = threadCount()
        guard threads <= 1 else { throw .multipleThreads(threads) }
        // Bounding set: every capability up to the kernel's last one.
        var cap: Int32 = 0
        while targe_capbset_read(cap) >= 0 {
            if targe_capbset_drop(cap) != 0 { throw .step("PR_CAPBSET_DROP(\(cap))", errno: errno) }
            cap += 1
        }
        if targe_ambient_clear_all() != 0 && errno != EINVAL { throw .step("PR_CAP_AMBIENT_CLEAR_ALL", errno: errno) }
        if setgroups(0, nil) != 0 { throw .step("setgroups", errno: errno) }
        if targe_setresgid(identity.gid) != 0 { throw .step("setresgid(\(identity.gid))", errno: errno) }
        if targe_setresuid(identity.uid) != 0 { throw .step("setresuid(\(identity.uid))", errno: errno) }
        if targe_clear_process_caps() != 0 { throw .step("cap_set_proc", errno: errno) }
        if targe_no_new_privs() != 0 { throw .step("PR_SET_NO_NEW_PRIVS", errno: errno) }
        // Verify rather than trust: regaining root must be impossible now.
        if targe_setresuid(0) == 0 { throw .step("verification (setuid 0 still works)", errno: EPERM) }
    }

    /// Threads of this process, from /proc/self/status.
    static func threadCount() -> Int {
        guard let f = fopen("/proc/self/status", "r") else { return 1 }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), f) != nil {
            let text = String(cString: line)
            if text.hasPrefix("Threads:") {
                return Int(text.dropFirst(8).trimmingCharacters(in: " \t\n")) ?? 1
            }
        }
        return 1
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = self
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
