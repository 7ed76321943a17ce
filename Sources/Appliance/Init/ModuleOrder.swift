/// One kernel module as its `.modinfo` describes it.
public struct ModuleInfo: Sendable, Equatable {
    /// The module name with '-' folded to '_', as the kernel and `depends=` spell it.
    public var name: String
    public var depends: [String]
    /// Where the .ko file is (relative to the modules tree, or any path the caller likes).
    public var path: String

    public init(name: String, depends: [String], path: String) {
        self.name = ModuleInfo.canonical(name)
        self.depends = depends.map(ModuleInfo.canonical)
        self.path = path
    }

    /// virtio-rng and virtio_rng are the same module to the kernel.
    public static func canonical(_ name: String) -> String {
        String(name.map { $0 == "-" ? "_" : $0 })
    }
}

/// The load order for a set of wanted modules: every dependency before its users, only
/// what is needed, and the same order every time (dependencies in the order `depends=`
/// lists them, wanted modules in the order given), so that image builds are reproducible.
/// Debian's kernel package ships no modules.dep, so this is how the image build decides
/// which .ko files to include and in which order PID 1 loads them.
public enum ModuleOrder {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unknownModule(String, neededBy: String?)
        case cycle([String])

        public var description: String {
            switch self {
            case let .unknownModule(name, nil): return "no module named \(name)"
            case let .unknownModule(name, user?): return "module \(user) depends on \(name), which is not there"
            case let .cycle(path): return "modules depend on each other in a cycle: \(path.joined(separator: " -> "))"
            }
        }
    }

    public static func resolve(wanted: [String], available: [ModuleInfo]) throws(Failure) -> [ModuleInfo] {
        var byName: [String: ModuleInfo] = [:]
        for module in available where byName[module.name] == nil { byName[module.name] = module }
        var order: [ModuleInfo] = []
        var done: Set<String> = []

        // Depth-first with an explicit path, so a cycle is reported as the modules in it.
        func visit(_ name: String, neededBy: String?, path: [String]) throws(Failure) {
            if done.contains(name) { return }
            if let start = path.firstIndex(of: name) { throw .cycle(Array(path[start...]) + [name]) }
            guard let module = byName[name] else { throw .unknownModule(name, neededBy: neededBy) }
            for dependency in module.depends where !dependency.isEmpty {
                try visit(dependency, neededBy: name, path: path + [name])
            }
            done.insert(name)
            order.append(module)
        }
        for name in wanted { try visit(ModuleInfo.canonical(name), neededBy: nil, path: []) }
        return order
    }
}
