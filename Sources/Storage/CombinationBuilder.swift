import NIOCore

/// Assembles combinations from opened devices: one at a time (`build`) or a whole config's
/// worth in dependency order (`buildAll`), so nested combinations (a RAID1 of RAID0s) come
/// out right and a member is used once.
public enum CombinationBuilder {
    public struct Options: Sendable {
        /// Where RAID1 state files go, `<directory>/<combination>.health` and `.bitmap`
        /// (beside the config). nil: no persistence; the members are assumed identical at
        /// start and a restart forgets failures.
        public var stateDirectory: String?
        /// Bytes per write-intent bitmap bit.
        public var regionSize: UInt64
        /// How the members of a mirror met for the first time (no health file) are treated.
        public var initialSync: MirrorHealth.InitialSync
        /// Delay of the bitmap cleaner after writes.
        public var cleanDelay: TimeAmount
        /// A RAID1 member was marked failed: combination, member, error.
        public var onMemberFailure: (@Sendable (_ combination: String, _ member: String, _ error: Error) -> Void)?
        /// A RAID1 state change worth a log line (the text names the combination).
        public var onNotice: (@Sendable (String) -> Void)?
        /// Opens (and creates, empty) the RAID1 state files: pass the devices' opener, so a
        /// build after the privilege drop goes through the privileged helper.
        public var opener: FileOpener

        public init(stateDirectory: String? = nil, regionSize: UInt64 = WriteIntentBitmap.defaultRegionSize,
                    initialSync: MirrorHealth.InitialSync = .copyFirstMember, cleanDelay: TimeAmount = .seconds(5),
                    onMemberFailure: (@Sendable (String, String, Error) -> Void)? = nil,
                    onNotice: (@Sendable (String) -> Void)? = nil, opener: FileOpener = DirectFileOpener()) {
            self.stateDirectory = stateDirectory
            self.regionSize = regionSize
            self.initialSync = initialSync
            self.cleanDelay = cleanDelay
            self.onMemberFailure = onMemberFailure
            self.onNotice = onNotice
            self.opener = opener
        }
    }

    /// Builds one combination over `members`, given in `spec.members` order. Errors name the
    /// combination (`StorageError.combination`). On error the members stay the caller's.
    public static func build(_ spec: CombinationSpec, members: [BlockDevice], options: Options = Options()) throws(StorageError) -> BlockDevice {
        guard members.count == spec.members.count else {
            throw .combination(name: spec.name, problem: "\(spec.members.count) members listed, \(members.count) given")
        }
        for (device, listed) in zip(members, spec.members) where device.name != listed {
            throw .combination(name: spec.name, problem: "member \(listed) given as device \(device.name)")
        }
        switch spec.level {
        case .raid0:
            return try RAID0Device(name: spec.name, members: members, chunk: spec.chunk)
        case .raid1:
            if spec.chunk != nil { throw .combination(name: spec.name, problem: "chunk applies only to raid 0") }
            guard members.count >= 2 else {
                throw .combination(name: spec.name, problem: "raid 1 needs at least 2 members, got \(members.count)")
            }
            let health = options.stateDirectory.map {
                MirrorHealth(directory: $0, combination: spec.name, regionSize: options.regionSize, initialSync: options.initialSync)
            }
            var memberHook: (@Sendable (String, Error) -> Void)?
            if let hook = options.onMemberFailure {
                let combination = spec.name
                memberHook = { member, error in hook(combination, member, error) }
            }
            return try RAID1Device(name: spec.name, members: members, health: health, regionSize: options.regionSize,
                                   cleanDelay: options.cleanDelay, opener: options.opener,
                                   onMemberFailure: memberHook, onNotice: options.onNotice)
        }
    }

    /// Builds every combination of `specs` from the opened `devices` (keyed by name), members
    /// first. Returns every device and combination by name; a combination owns (and closes)
    /// its members, so close the returned ones that are not members of another (closing a
    /// member twice is harmless). Rejects unknown members, a name used twice, a member used by
    /// two combinations, and cycles. On error everything passed in or built is closed.
    public static func buildAll(_ specs: [CombinationSpec], devices: [String: BlockDevice],
                                options: Options = Options()) throws(StorageError) -> [String: BlockDevice] {
        var built = devices
        do throws(StorageError) {
            var byName: [String: CombinationSpec] = [:]
            var memberOf: [String: String] = [:]
            for spec in specs {
                guard byName[spec.name] == nil, devices[spec.name] == nil else {
                    throw StorageError.combination(name: spec.name, problem: "name used twice")
                }
                byName[spec.name] = spec
            }
            for spec in specs {
                var listed = Set<String>()
                for member in spec.members {
                    guard listed.insert(member).inserted else {
                        throw StorageError.combination(name: spec.name, problem: "member \(member) appears twice")
                    }
                    guard devices[member] != nil || byName[member] != nil else {
                        throw StorageError.combination(name: spec.name, problem: "unknown member \(member)")
                    }
                    if let other = memberOf[member] {
                        throw StorageError.combination(name: spec.name, problem: "member \(member) is already used by combination \(other)")
                    }
                    memberOf[member] = spec.name
                }
            }
            // Depth-first, members before the combination; a name met again on the current
            // path closes a cycle.
            var path: [String] = []
            func assemble(_ name: String) throws(StorageError) {
                if built[name] != nil { return }
                guard let spec = byName[name] else { return }
                if let start = path.firstIndex(of: name) {
                    throw .combination(name: name, problem: "combinations form a cycle: " + (path[start...] + [name]).joined(separator: " -> "))
                }
                path.append(name)
                for member in spec.members { try assemble(member) }
                path.removeLast()
                built[name] = try build(spec, members: spec.members.map { built[$0]! }, options: options)
            }
            for spec in specs { try assemble(spec.name) }
            return built
        } catch {
            for device in built.values { device.close() }
            throw error
        }
    }
}
