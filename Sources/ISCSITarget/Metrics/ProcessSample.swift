import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// The process as Prometheus' standard `process_*` metrics describe it, read from /proc at
/// scrape time (off the event loops), and how late each event loop runs a task.
public struct ProcessSample: Sendable, Equatable {
    public var residentBytes: UInt64
    public var openDescriptors: Int
    public var maxDescriptors: UInt64
    public var cpuSeconds: Double
    /// Seconds an event loop took to start a task submitted to it, per loop, in group order.
    public var loopDelays: [Double]

    /// Reads the figures of this process. Blocks (reads /proc, waits for the loops): call it
    /// from a thread pool thread, never from an event loop.
    public static func capture(loops: [EventLoop]) -> ProcessSample {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
        return ProcessSample(residentBytes: residentBytes(), openDescriptors: openDescriptors(),
                             maxDescriptors: UInt64(limit.rlim_cur), cpuSeconds: cpu,
                             loopDelays: loops.map(loopDelay))
    }

    /// Resident pages (the second field of /proc/self/statm) times the page size.
    static func residentBytes() -> UInt64 {
        guard let text = readSmallFile("/proc/self/statm") else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1]) else { return 0 }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Entries of /proc/self/fd, less the directory's own descriptor.
    static func openDescriptors() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let first = withUnsafeBytes(of: entry.pointee.d_name) { $0.first ?? 0 }
            if first != UInt8(ascii: ".") { count += 1 }
        }
        return max(0, count - 1)
    }

    /// The time from submitting an empty task to `loop` until it runs: near zero on an idle
    /// loop, the backlog of a busy one.
    static func loopDelay(_ loop: EventLoop) -> Double {
        let submitted = NIODeadline.now()
        guard let ran = try? loop.submit({ NIODeadline.now() }).wait() else { return 0 }
        return Double(max(0, (ran - submitted).nanoseconds)) / 1e9
    }

    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }
}
