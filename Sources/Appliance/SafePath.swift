#if canImport(Glibc)
import Glibc
#endif

/// Whether the privileged helper may open a path that the config names: only when no user
/// but root can change what the path leads to. A path runs through directories; if one of
/// them is writable by another user, that user can put a symlink (or another file) in the
/// way between the config's check and the open, and the helper would hand back a descriptor
/// of a file the user could not open. So every directory on the way (symlinks resolved, each
/// symlink's own directory checked too) must be root's and writable only by root, or root's
/// and sticky (as /tmp) with the next entry root's. The file itself must be a regular file or
/// a block device. Symlinks through root's directories (`/dev/disk/by-id/...`) are fine.
enum SafePath {
    /// Symlinks followed at most (as the kernel's MAXSYMLINKS).
    static let maxLinks = 40

    /// nil when `path` (absolute) is safe to open with privileges; else why not. A missing
    /// last component is safe when its directory is (the helper creates it).
    static func problem(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "\(path) is not an absolute path" }
        var pending = components(path)
        var resolved: [String] = []
        var links = 0
        var parentSticky = false
        if let why = directoryProblem("/", sticky: &parentSticky, entryOwnedByRoot: true) { return why }
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name == "." { continue }
            if name == ".." {
                return "\(path) contains '..'"
            }
            let current = "/" + (resolved + [name]).joined(separator: "/")
            var st = stat()
            guard lstat(current, &st) == 0 else {
                if errno == ENOENT && pending.isEmpty { return nil }  // to be created in a safe directory
                return "\(current): \(String(cString: strerror(errno)))"
            }
            if parentSticky && st.st_uid != 0 {
                return "\(current) belongs to uid \(st.st_uid) inside a shared directory; another user could replace it"
            }
            switch st.st_mode & S_IFMT {
            case S_IFLNK:
                links += 1
                guard links <= maxLinks else { return "\(path): too many symlinks" }
                guard let target = readLink(current) else { return "\(current): cannot read the symlink" }
                if target.hasPrefix("/") {
                    resolved = []
                    parentSticky = false
                }
                pending = components(target) + pending
            case S_IFDIR:
                var sticky = false
                if let why = directoryProblem(current, sticky: &sticky, entryOwnedByRoot: st.st_uid == 0) { return why }
                parentSticky = sticky
                resolved.append(name)
            case S_IFREG, S_IFBLK:
                guard pending.isEmpty else { return "\(current) is not a directory" }
                return nil
            default:
                return "\(current) is neither a regular file nor a block device"
            }
        }
        return "\(path) names a directory"
    }

    /// Why directory `path` is unsafe: not root's, or writable by others without the sticky
    /// bit. `sticky` tells the caller to demand root's entries inside.
    private static func directoryProblem(_ path: String, sticky: inout Bool, entryOwnedByRoot: Bool) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return "\(path): \(String(cString: strerror(errno)))" }
        guard st.st_uid == 0 else {
            return "directory \(path) belongs to uid \(st.st_uid), who could redirect the path; the privileged opener refuses it"
        }
        let writableByOthers = st.st_mode & 0o022 != 0
        sticky = st.st_mode & S_ISVTX != 0
        if writableByOthers && !sticky {
            return "directory \(path) is writable by users other than root (mode \(String(st.st_mode & 0o7777, radix: 8))); the privileged opener refuses it"
        }
        return nil
    }

    private static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
