import Appliance
import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// `targe module-order`: used by image/build.sh to pick the kernel modules the image needs
/// and the order PID 1 loads them in, from the .ko files' own `depends=` (Debian's kernel
/// package has no modules.dep).
struct ModuleOrderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "module-order",
        abstract: "Print the .ko files (dependencies first) needed for the given modules.",
        shouldDisplay: false)

    @Option(help: "A kernel's module tree, e.g. lib/modules/6.1.0-56-cloud-amd64.")
    var tree: String

    @Argument(help: "Module names, e.g. virtio_pci virtio_blk virtio_net.")
    var modules: [String]

    func run() throws {
        var available: [ModuleInfo] = []
        for path in koFiles(under: tree, relative: "") {
            do {
                let bytes = try SystemFiles.read("\(tree)/\(path)")
                available.append(try ModuleInfoReader.info(of: bytes, path: path))
            } catch {
                writeStderr("\(tree)/\(path): \(error)\n")
                throw ExitCode(1)
            }
        }
        do {
            for module in try ModuleOrder.resolve(wanted: modules, available: available) {
                print(module.path)
            }
        } catch {
            writeStderr("\(error)\n")
            throw ExitCode(1)
        }
    }

    private func koFiles(under root: String, relative: String) -> [String] {
        let dir = relative.isEmpty ? root : "\(root)/\(relative)"
        return SystemFiles.list(dir).flatMap { name -> [String] in
            let path = relative.isEmpty ? name : "\(relative)/\(name)"
            var info = stat()
            guard lstat("\(root)/\(path)", &info) == 0 else { return [] }
            if info.st_mode & S_IFMT == S_IFDIR { return koFiles(under: root, relative: path) }
            return name.hasSuffix(".ko") ? [path] : []
        }
    }
}
