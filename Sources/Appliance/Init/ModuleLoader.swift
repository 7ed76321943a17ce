#if canImport(Glibc)
import Glibc
#endif
import CSystemShims

/// Loads the kernel modules the image carries, in the order the image build computed
/// (`ModuleOrder`, written to `order` beside the .ko files: one file name per line).
/// No kmod or busybox: finit_module(2) on each file, dependencies first.
public struct ModuleLoader: Sendable {
    public let directory: String

    public init(directory: String = "/lib/modules/targe") {
        self.directory = directory
    }

    /// File names from the order file; blank lines and `#` comments are skipped.
    public static func parseOrder(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let name = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmed(" \t")
            return name.isEmpty ? nil : name
        }
    }

    /// Loads each module; one that is already loaded (or built in) is fine. Returns the
    /// names loaded; a module that fails is reported and the rest are still tried, since
    /// a missing network driver should not stop the disks from appearing.
    public func loadAll() -> (loaded: [String], failures: [InitError]) {
        let orderPath = "\(directory)/order"
        guard let text = try? SystemFiles.read(orderPath) else {
            return ([], [InitError("read \(orderPath)", detail: "no module order file; no modules loaded")])
        }
        var loaded: [String] = []
        var failures: [InitError] = []
        for file in Self.parseOrder(String(decoding: text, as: UTF8.self)) {
            let path = "\(directory)/\(file)"
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                failures.append(InitError("open module \(path)", errno: errno))
                continue
            }
            let rc = targe_finit_module(fd)
            let code = errno
            close(fd)
            if rc == 0 || code == EEXIST {
                loaded.append(file.hasSuffix(".ko") ? String(file.dropLast(3)) : file)
            } else {
                failures.append(InitError("load module \(file)", errno: code))
            }
        }
        return (loaded, failures)
    }
}
