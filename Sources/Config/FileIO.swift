#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call while reading or writing a config file.
public struct ConfigFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    /// What was being done: "open", "read", "write", "fsync", "rename", ...
    public var operation: String
    /// errno, or 0 when the failure is not a system call's (file too large).
    public var code: Int32
    public var detail: String

    init(path: String, operation: String, code: Int32 = errno) {
        self.path = path
        self.operation = operation
        self.code = code
        self.detail = String(cString: strerror(code))
    }

    /// Public so that callers (and tests of the atomic write) can report failures of their own.
    public init(path: String, operation: String, detail: String) {
        self.path = path
        self.operation = operation
        self.code = 0
        self.detail = detail
    }

    /// "cannot open: No such file or directory" (the path is reported separately).
    public var reason: String { "cannot \(operation): \(detail)" }

    public var description: String { "\(path): \(reason)" }
}

/// The few file operations the config needs, on plain Glibc (no Foundation in this module).
enum FileIO {
    static func readAll(path: String, limit: Int) throws(ConfigFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfigFileError(path: path, operation: "open") }
        return try readAll(fd: fd, path: path, limit: limit)
    }

    /// Reads `fd` to its end and closes it.
    static func readAll(fd: Int32, path: String, limit: Int) throws(ConfigFileError) -> [UInt8] {
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigFileError(path: path, operation: "read")
            }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
            guard bytes.count <= limit else {
                throw ConfigFileError(path: path, operation: "read", detail: "larger than \(limit) bytes")
            }
        }
    }

    /// Crash-safe replacement: a reader (or a reboot) sees the old file or the new one,
    /// never a torn one. The temp file lives in the same directory because rename is only
    /// atomic within one file system, and the directory is synced so the rename survives
    /// power loss. The new file is mode 0600 (mkstemp's), as it may hold CHAP secrets.
    static func writeAtomically(_ text: String, to path: String,
                                afterStep: (AtomicWriteStep) throws(ConfigFileError) -> Void = { _ in })
        throws(ConfigFileError) {
        let directory = directoryName(of: path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        var template = Array("\(directory)/.\(base).tmp.XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw ConfigFileError(path: path, operation: "create a temporary file in \(directory)") }
        let tempPath = String(decoding: template.dropLast().map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
        var fdOpen = true
        do throws(ConfigFileError) {
            try writeAll(fd: fd, bytes: Array(text.utf8), path: tempPath)
            guard fsync(fd) == 0 else { throw ConfigFileError(path: tempPath, operation: "fsync") }
            fdOpen = false
            guard close(fd) == 0 else { throw ConfigFileError(path: tempPath, operation: "close") }
            try afterStep(.tempFileSynced)
            guard rename(tempPath, path) == 0 else { throw ConfigFileError(path: path, operation: "rename \(tempPath) to") }
        } catch {
            if fdOpen { close(fd) }
            unlink(tempPath)
            throw error
        }
        try afterStep(.renamed)
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { throw ConfigFileError(path: directory, operation: "open directory") }
        defer { close(dirFD) }
        guard fsync(dirFD) == 0 else { throw ConfigFileError(path: directory, operation: "fsync directory") }
    }

    private static func writeAll(fd: Int32, bytes: [UInt8], path: String) throws(ConfigFileError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ConfigFileError(path: path, operation: "write")
            }
            offset += written
        }
    }

    /// "/etc/targe.conf" -> "/etc", "targe.conf" -> ".", "/targe.conf" -> "/".
    static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = path[..<slash]
        return directory.isEmpty ? "/" : String(directory)
    }
}
