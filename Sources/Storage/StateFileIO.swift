import Glibc

/// Blocking helpers for the small files RAID1 keeps beside the config (write-intent bitmap,
/// member health). They run at open time, at close, or on a state file's own I/O thread,
/// never on an event loop.
///
/// The files are opened once, when the mirror is built, through the same `FileOpener` as the
/// devices (so a mirror built after the privilege drop opens them through the privileged
/// helper), created empty when missing, and written through that descriptor afterwards:
/// nothing is ever created or renamed later.
enum StateFileIO {
    static func open(_ path: String, opener: FileOpener) throws(StorageError) -> Int32 {
        switch opener.openReadWrite(path: path, createSize: 0) {
        case let .success(fd): return fd
        case let .failure(failure): throw .stateFile(path: path, problem: "cannot open: \(errnoText(failure.code))")
        }
    }

    static func fileSize(_ fd: Int32, path: String) throws(StorageError) -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .stateFile(path: path, problem: "cannot stat: \(errnoText(errno))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .stateFile(path: path, problem: "not a regular file") }
        return Int(st.st_size)
    }

    /// Reads up to `count` bytes at `offset` (fewer at the end of the file).
    static func read(_ fd: Int32, count: Int, at offset: Int, path: String) throws(StorageError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, count - got, off_t(offset + got)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .stateFile(path: path, problem: "read failed: \(errnoText(errno))")
            }
            if n == 0 { break }
            got += n
        }
        out.removeLast(count - got)
        return out
    }

    /// Writes every byte at `offset`, then makes it durable with fdatasync.
    static func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String, sync: Bool = true) throws(StorageError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .stateFile(path: path, problem: "write failed: \(errnoText(errno))")
            }
            done += n
        }
        if sync && fdatasync(fd) != 0 {
            throw .stateFile(path: path, problem: "fdatasync failed: \(errnoText(errno))")
        }
    }

    /// FNV-1a, 64 bits: enough to tell a torn or foreign slot from a whole one.
    static func fnv1a(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            hash ^= UInt64(b)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    static func le(_ value: UInt64, into bytes: inout [UInt8], at offset: Int, width: Int = 8) {
        for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    static func le(_ bytes: [UInt8], at offset: Int, width: Int = 8) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        return value
    }
}
