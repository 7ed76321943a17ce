#if canImport(Glibc)
import Glibc
#endif

/// The small file operations PID 1 needs (sysfs attributes, module files, directory
/// listings), on plain Glibc: the appliance binary carries no Foundation.
public enum SystemFiles {
    /// The whole file, at most `limit` bytes.
    public static func read(_ path: String, limit: Int = 64 << 20) throws(InitError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw InitError("open \(path)", errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, min($0.count, limit - bytes.count)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw InitError("read \(path)", errno: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// `count` bytes at `offset` (fewer at the end of the file).
    public static func read(_ path: String, offset: Int, count: Int) throws(InitError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw InitError("open \(path)", errno: errno) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        guard n >= 0 else { throw InitError("read \(path)", errno: errno) }
        return Array(bytes[0..<n])
    }

    /// A one-line sysfs or proc attribute without its trailing newline; nil if unreadable.
    public static func attribute(_ path: String) -> String? {
        guard let bytes = try? read(path, limit: 4096) else { return nil }
        var text = String(decoding: bytes, as: UTF8.self)
        while let last = text.last, last == "\n" || last == " " { text.removeLast() }
        return text
    }

    /// Entry names of a directory, sorted, without . and ..; empty if it cannot be read.
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// mkdir that accepts an existing directory.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(InitError) {
        if mkdir(path, mode) != 0 && errno != EEXIST { throw InitError("mkdir \(path)", errno: errno) }
    }
}
