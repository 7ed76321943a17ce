import Glibc

/// Raises the soft limit on open files to the hard one at start. A target holds a descriptor
/// per connection and per device, and the limit it inherits is often 1,024 (what PID 1 gives
/// its children): a flood of idle connections then used every descriptor and real logins
/// timed out. The hard limit is what the system allows this process; nothing needs privileges.
enum FileLimit {
    /// The soft limit after the call (unchanged when it could not be raised).
    @discardableResult
    static func raiseToHard() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        // An unlimited hard limit cannot be the soft one for descriptors (the kernel caps
        // them at fs.nr_open, 1,048,576 by default): aim for that instead.
        let target = limit.rlim_max == rlim_t.max ? rlim_t(1 << 20) : limit.rlim_max
        if limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }
}
