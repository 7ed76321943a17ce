import Config
import DeviceServer
import SCSI
import Storage

/// How a reload maps the running LUs onto the new config: which LUs stay (the same object,
/// state and all), which devices move from an LU that goes to a new one, which must be
/// opened, and what cannot change live.
struct ReloadPlan {
    struct Key: Hashable {
        var target: String
        var lun: Int
        init(_ target: String, _ lun: Int) {
            self.target = target.lowercased()
            self.lun = lun
        }
    }

    let difference: ConfigDifference
    let running: TargeConfig
    let new: TargeConfig
    /// The catalog that runs now.
    let catalog: TargetCatalog
    /// The config file's name, for `file:line` in refusals.
    let fileName: String
    /// LUs that stay as they are, by target and LUN in the new config.
    private(set) var kept: [Key: LogicalUnit] = [:]
    /// Devices of LUs that go, which the new config exports under another target or LUN.
    private(set) var moved: [String: BlockDevice] = [:]
    /// RAID1 member changes, by mirror: only for mirrors under an LU that stays.
    private(set) var memberSwaps: [String: [MemberSwap]]

    init(difference: ConfigDifference, running: TargeConfig, new: TargeConfig, catalog: TargetCatalog,
         fileName: String) {
        self.fileName = fileName
        self.difference = difference
        self.running = running
        self.new = new
        self.catalog = catalog
        let swaps = Self.memberSwaps(difference, running: running, new: new)
        self.memberSwaps = swaps
        let changes = Dictionary(difference.targetsChanged.map { ($0.iqn, $0) }, uniquingKeysWith: { a, _ in a })
        for target in new.targets {
            guard let old = catalog.target(named: target.iqn) else { continue }
            let change = changes[target.iqn]
            for mapping in target.luns {
                let sameDevice = running.target(iqn: target.iqn)?.luns.contains { $0.lun == mapping.lun && $0.device == mapping.device } == true
                let swapsOnly = sameDevice && swaps[mapping.device] != nil && change?.readOnlyChanged != true
                if change?.lunsAdded.contains(mapping.lun) == true
                    || (change?.lunsReplaced.contains(mapping.lun) == true && !swapsOnly) {
                    continue
                }
                if let unit = old.units[UInt64(mapping.lun)] { kept[Key(target.iqn, mapping.lun)] = unit }
            }
        }
        let keptDevices = Set(kept.values.map(\.device.name))
        memberSwaps = swaps.filter { keptDevices.contains($0.key) }
        let keptIDs = Set(kept.values.map(ObjectIdentifier.init))
        let wanted = Set(new.targets.flatMap { $0.luns.map(\.device) })
        for target in catalog.targets {
            for unit in target.units.values where !keptIDs.contains(ObjectIdentifier(unit)) {
                let name = unit.device.name
                if wanted.contains(name) && !difference.devicesReplaced.contains(name) { moved[name] = unit.device }
            }
        }
    }

    /// Devices (and combinations) the new LUs need that are not open yet.
    var devicesToOpen: [String] {
        new.targets.flatMap { target in
            target.luns.filter { kept[Key(target.iqn, $0.lun)] == nil && moved[$0.device] == nil }.map(\.device)
        }
    }

    /// Why this reload cannot be applied live; empty when it can.
    func refusals() -> [String] {
        var refusals: [String] = []
        for resize in difference.devicesResized where !growsInPlace(resize.device) {
            guard let (target, lun) = exporter(of: resize.device) else { continue }
            let line = new.device(named: resize.device)?.line ?? 0
            refusals.append("\(location(line)): device \(resize.device): its size cannot change while \(target) lun \(lun) exports it; unmap the LUN first, or restart")
        }
        for target in new.targets {
            for mapping in target.luns where memberSwaps[mapping.device] == nil {
                guard let combination = running.combination(named: mapping.device),
                      difference.devicesReplaced.contains(mapping.device),
                      running.target(iqn: target.iqn)?.luns.contains(where: { $0.lun == mapping.lun && $0.device == mapping.device }) == true
                else { continue }
                let line = new.combination(named: combination.name)?.line ?? new.device(named: combination.name)?.line ?? 0
                refusals.append("\(location(line)): combination \(combination.name): its level, chunk or members cannot change while \(target.iqn) lun \(mapping.lun) exports it; remove the LUN in one reload and map it again in the next, or restart")
            }
        }
        return refusals + swapRefusals() + sharedDeviceRefusals()
    }

    /// A device is open once. Opening again what an LU that stays still uses (directly or
    /// as a member) would run two instances over one disk; a mirror that an LU this reload
    /// retires still serves until that LU drained, and two mirrors over one bitmap and
    /// health file would overwrite each other's state. A plain device of a retiring LU may
    /// be reused: nothing copies onto it before the old LU drained.
    func sharedDeviceRefusals() -> [String] {
        let opening = CatalogBuilder.reachableDeviceNames(from: devicesToOpen + swapDevices, in: new)
        guard !opening.isEmpty else { return [] }
        var refusals: [String] = []
        for target in running.targets {
            for mapping in target.luns {
                let tree = CatalogBuilder.reachableDeviceNames(from: [mapping.device], in: running)
                let stays = kept[Key(target.iqn, mapping.lun)] != nil || moved[mapping.device] != nil
                for name in opening.intersection(tree).sorted() {
                    let line = new.device(named: name)?.line ?? new.combination(named: name)?.line ?? 0
                    if stays {
                        refusals.append("\(location(line)): \(name) is in use by \(target.iqn) lun \(mapping.lun), which stays; a device is used once")
                    } else if running.combination(named: name)?.raid == .raid1 {
                        refusals.append("\(location(line)): combination \(name) still serves \(target.iqn) lun \(mapping.lun) until this reload retires it; unmap it in one reload and use it again in the next")
                    }
                }
            }
        }
        return refusals
    }

    func location(_ line: Int) -> String { "\(fileName):\(line)" }

    /// The running target and LUN that export `device` (directly or as a member), if any
    /// stays exported after the reload.
    private func exporter(of device: String) -> (String, Int)? {
        for target in running.targets {
            for mapping in target.luns {
                guard kept[Key(target.iqn, mapping.lun)] != nil || moved[mapping.device] != nil else { continue }
                if CatalogBuilder.reachableDeviceNames(from: [mapping.device], in: running).contains(device) {
                    return (target.iqn, mapping.lun)
                }
            }
        }
        return nil
    }

    /// The new catalog: kept LUs as they are, moved devices under new LUs, the rest from
    /// `opened`.
    func buildCatalog(opened: [String: BlockDevice],
                      makeUnit: (LUNMapping, TargetConfig, BlockDevice) -> LogicalUnit) -> TargetCatalog {
        let targets = new.targets.map { target in
            var units: [UInt64: LogicalUnit] = [:]
            for mapping in target.luns {
                if let unit = kept[Key(target.iqn, mapping.lun)] {
                    units[UInt64(mapping.lun)] = unit
                } else if let device = moved[mapping.device] ?? opened[mapping.device] {
                    units[UInt64(mapping.lun)] = makeUnit(mapping, target, device)
                }
            }
            return CatalogBuilder.makeTarget(target, units: units, config: new)
        }
        return TargetCatalog(targets: targets)
    }

    /// Kept LUs of targets whose LUN inventory changed: they report REPORTED LUNS DATA HAS
    /// CHANGED to every nexus that knows them. (A new LU's nexuses start with POWER ON.)
    func unitsToNotify(in catalog: TargetCatalog) -> [LogicalUnit] {
        difference.targetsChanged.filter { change in
            change.lunMapChanged || change.lunsReplaced.contains { kept[Key(change.iqn, $0)] == nil }
        }.flatMap { change in
            (catalog.target(named: change.iqn)?.units ?? [:]).compactMap { lun, unit in
                kept[Key(change.iqn, Int(lun))] === unit ? unit : nil
            }
        }
    }

    /// The running LUs the new catalog no longer has, and whether their device lives on
    /// under a new LU.
    func retiredUnits(in newCatalog: TargetCatalog) -> [(unit: LogicalUnit, keepDevice: Bool)] {
        let staying = Set(newCatalog.targets.flatMap { $0.units.values.map(ObjectIdentifier.init) })
        let devices = Set(newCatalog.targets.flatMap { $0.units.values.map { ObjectIdentifier($0.device) } })
        return catalog.targets.flatMap { $0.units.values }.filter { !staying.contains(ObjectIdentifier($0)) }
            .map { ($0, devices.contains(ObjectIdentifier($0.device))) }
    }

    /// One line per change, for the reply and the log. `loggedOut` counts the connections
    /// asked to log out, by lowercased target IQN.
    func describe(loggedOut: [String: Int], failedMirrors: Set<String> = []) -> [String] {
        func asked(_ iqn: String) -> String {
            guard let n = loggedOut[iqn.lowercased()], n > 0 else { return "" }
            return " (\(n) connection\(n == 1 ? "" : "s") asked to log out)"
        }
        var lines: [String] = []
        for iqn in difference.targetsAdded {
            let luns = new.target(iqn: iqn)?.luns.map { "\($0.lun)" }.joined(separator: ", ") ?? ""
            lines.append("target \(iqn) added" + (luns.isEmpty ? "" : " with LUN \(luns)"))
        }
        for iqn in difference.targetsRemoved { lines.append("target \(iqn) removed" + asked(iqn)) }
        for change in difference.targetsChanged {
            let t = "target \(change.iqn)"
            for lun in change.lunsAdded { lines.append("\(t): LUN \(lun) added") }
            for lun in change.lunsRemoved { lines.append("\(t): LUN \(lun) removed") }
            for lun in change.lunsReplaced where kept[Key(change.iqn, lun)] == nil {
                let device = new.target(iqn: change.iqn)?.luns.first { $0.lun == lun }?.device ?? "?"
                lines.append("\(t): LUN \(lun) is a new LU on device \(device)")
            }
            if change.accessChanged { lines.append("\(t): allow rules, CHAP users or target-reset changed" + asked(change.iqn)) }
            if change.readOnlyChanged { lines.append("\(t): access is now \(new.target(iqn: change.iqn)?.access.rawValue ?? "?")") }
            if change.aliasChanged { lines.append("\(t): alias changed") }
        }
        for name in difference.devicesReplaced where moved[name] == nil && memberSwaps[name] == nil
            && !memberSwaps.values.contains(where: { $0.contains { $0.new == name || $0.old == name } }) {
            lines.append("device \(name) opened anew")
        }
        for swap in memberSwaps.values.flatMap({ $0 }) where !failedMirrors.contains(swap.mirror) {
            switch (swap.old, swap.new) {
            case let (old?, new?): lines.append("combination \(swap.mirror): \(new) replaces failed member \(old); resync started")
            case let (nil, new?): lines.append("combination \(swap.mirror): \(new) added; resync started")
            case let (old?, nil): lines.append("combination \(swap.mirror): member \(old) removed")
            case (nil, nil): break
            }
        }
        return lines
    }
}
