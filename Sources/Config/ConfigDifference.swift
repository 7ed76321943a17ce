/// What a reload would change: the running config compared with a new one, as plain values
/// (line numbers never count). A live reload applies exactly this and reports it; anything in
/// `needsRestart` is left as it runs and named instead of ignored.
public struct ConfigDifference: Sendable, Equatable {
    /// A target's change, by IQN.
    public struct TargetChange: Sendable, Equatable {
        public var iqn: String
        public var lunsAdded: [Int] = []
        public var lunsRemoved: [Int] = []
        /// The LUN now maps a different device, or its device was replaced (a new path, a
        /// different engine or block size, a combination rebuilt): a new LU under the number.
        public var lunsReplaced: [Int] = []
        /// `allow`, CHAP users or `target-reset` changed: its sessions are checked again.
        public var accessChanged = false
        /// `access ro|rw` changed: every LU of the target is a new LU.
        public var readOnlyChanged = false
        /// Alias only (reported, nothing else to do).
        public var aliasChanged = false

        public init(iqn: String) { self.iqn = iqn }

        public var lunMapChanged: Bool { !lunsAdded.isEmpty || !lunsRemoved.isEmpty }
        public var isEmpty: Bool {
            lunsAdded.isEmpty && lunsRemoved.isEmpty && lunsReplaced.isEmpty && !accessChanged && !readOnlyChanged
                && !aliasChanged
        }
    }

    /// A device kept under its name whose only change is its `size` line.
    public struct Resize: Sendable, Equatable {
        public var device: String
        public var from: UInt64?
        public var to: UInt64?
        public init(device: String, from: UInt64?, to: UInt64?) {
            self.device = device
            self.from = from
            self.to = to
        }
    }

    public var targetsAdded: [String] = []
    public var targetsRemoved: [String] = []
    public var targetsChanged: [TargetChange] = []
    /// Devices (and combinations) that keep their name but not their identity: opened anew.
    public var devicesReplaced: [String] = []
    public var devicesResized: [Resize] = []
    public var portalsAdded: [ListenEntry] = []
    public var portalsRemoved: [Portal] = []
    /// A portal kept whose `advertise` addresses changed.
    public var advertisedChanged: [Portal] = []
    /// `[connection]`, `[timeouts]`, `[clients]`, `max-sessions`, discovery CHAP or
    /// `sanitize-rate`: new sessions get them, running sessions keep what they negotiated.
    public var settingsChanged: [String] = []
    /// What cannot change while the target runs, as the config names it.
    public var needsRestart: [String] = []

    public var isEmpty: Bool {
        targetsAdded.isEmpty && targetsRemoved.isEmpty && targetsChanged.isEmpty && devicesReplaced.isEmpty
            && devicesResized.isEmpty && portalsAdded.isEmpty && portalsRemoved.isEmpty && advertisedChanged.isEmpty
            && settingsChanged.isEmpty && needsRestart.isEmpty
    }

    public init() {}

    /// `running` is what the target runs now, `new` the file it is asked to apply.
    public init(from running: TargeConfig, to new: TargeConfig) {
        let replaced = Self.replacedDevices(running, new)
        devicesReplaced = replaced.sorted()
        for device in new.devices {
            guard let old = running.device(named: device.name), !replaced.contains(device.name) else { continue }
            if old.size != device.size {
                devicesResized.append(Resize(device: device.name, from: old.size, to: device.size))
            } else if case let .ram(before) = old.source, case let .ram(after) = device.source, before != after {
                devicesResized.append(Resize(device: device.name, from: before, to: after))
            }
        }

        let oldTargets = Dictionary(running.targets.map { ($0.iqn, $0) }, uniquingKeysWith: { a, _ in a })
        let newTargets = Dictionary(new.targets.map { ($0.iqn, $0) }, uniquingKeysWith: { a, _ in a })
        targetsAdded = new.targets.map(\.iqn).filter { oldTargets[$0] == nil }
        targetsRemoved = running.targets.map(\.iqn).filter { newTargets[$0] == nil }
        for target in new.targets {
            guard let old = oldTargets[target.iqn] else { continue }
            var change = TargetChange(iqn: target.iqn)
            let oldLUNs = Dictionary(old.luns.map { ($0.lun, $0.device) }, uniquingKeysWith: { a, _ in a })
            let newLUNs = Dictionary(target.luns.map { ($0.lun, $0.device) }, uniquingKeysWith: { a, _ in a })
            change.lunsAdded = newLUNs.keys.filter { oldLUNs[$0] == nil }.sorted()
            change.lunsRemoved = oldLUNs.keys.filter { newLUNs[$0] == nil }.sorted()
            change.readOnlyChanged = old.access != target.access
            change.lunsReplaced = newLUNs.compactMap { lun, device -> Int? in
                guard let before = oldLUNs[lun] else { return nil }
                return before != device || replaced.contains(device) || change.readOnlyChanged ? lun : nil
            }.sorted()
            change.accessChanged = old.allow != target.allow || running.incomingUsers(for: old) != new.incomingUsers(for: target)
                || running.outgoingUser(for: old) != new.outgoingUser(for: target) || old.targetReset != target.targetReset
            change.aliasChanged = old.alias != target.alias
            if !change.isEmpty { targetsChanged.append(change) }
        }

        let oldPortals = running.server.listenEntries
        let newPortals = new.server.listenEntries
        portalsAdded = newPortals.filter { entry in !oldPortals.contains { $0.portal == entry.portal } }
        portalsRemoved = oldPortals.map(\.portal).filter { portal in !newPortals.contains { $0.portal == portal } }
        advertisedChanged = newPortals.compactMap { entry in
            guard let old = oldPortals.first(where: { $0.portal == entry.portal }), old.advertised != entry.advertised
            else { return nil }
            return entry.portal
        }

        if running.connection != new.connection { settingsChanged.append("[connection]") }
        if running.timeouts != new.timeouts { settingsChanged.append("[timeouts]") }
        if running.clients != new.clients { settingsChanged.append("[clients]") }
        if running.server.maxSessions != new.server.maxSessions { settingsChanged.append("[server] max-sessions") }
        if running.server.maxDiscoverySessions != new.server.maxDiscoverySessions {
            settingsChanged.append("[server] max-discovery-sessions")
        }
        if running.server.maxConnections != new.server.maxConnections { settingsChanged.append("[server] max-connections") }
        if running.server.maxLoginsPerAddress != new.server.maxLoginsPerAddress {
            settingsChanged.append("[server] max-logins-per-address")
        }
        if running.server.sanitizeRate != new.server.sanitizeRate { settingsChanged.append("[server] sanitize-rate") }
        if running.auth != new.auth { settingsChanged.append("[auth]") }

        if running.server.user != new.server.user { needsRestart.append("[server] user") }
        if running.server.metrics != new.server.metrics { needsRestart.append("[server] metrics") }
        if running.appliance != new.appliance { needsRestart.append("[appliance]") }
        if running.server.gatewayName != new.server.gatewayName { needsRestart.append("[server] gateway-name") }
        for target in new.targets {
            guard let old = oldTargets[target.iqn], old.gateways != target.gateways else { continue }
            needsRestart.append("[target \(target.name)] gateway")
        }
    }

    /// Names of devices and combinations present in both configs whose identity changed:
    /// anything but the size for a device (a new path, offset, engine or block size), level, chunk or members for a combination, or a member replaced.
    static func replacedDevices(_ running: TargeConfig, _ new: TargeConfig) -> Set<String> {
        var replaced = Set<String>()
        for device in new.devices {
            guard let old = running.device(named: device.name) else {
                if running.combination(named: device.name) != nil { replaced.insert(device.name) }
                continue
            }
            // The size alone (a `size` line, a RAM disk's size) is a resize, not a new device.
            var resized = device
            resized.size = old.size
            if case .ram = old.source, case .ram = device.source { resized.source = old.source }
            if resized != old { replaced.insert(device.name) }
        }
        // Combinations in dependency order: a member replaced replaces every combination above it.
        var changed = true
        while changed {
            changed = false
            for combination in new.combinations where !replaced.contains(combination.name) {
                let old = running.combination(named: combination.name)
                if old == nil && running.device(named: combination.name) == nil { continue }
                if old != combination || combination.members.contains(where: replaced.contains) {
                    replaced.insert(combination.name)
                    changed = true
                }
            }
        }
        return replaced
    }
}
