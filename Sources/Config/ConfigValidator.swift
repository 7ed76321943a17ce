/// The rules that span sections: names, who uses which device, cycles, IQNs, CHAP secrets.
/// Runs after every section has been read, on whatever could be read, so a file with a
/// syntax error still gets its semantic errors reported in the same run.
enum ConfigValidator {
    static func validate(_ config: TargeConfig, diagnostics: inout Diagnostics) {
        checkNames(config, &diagnostics)
        checkSlices(config, &diagnostics)
        checkUsers(config, &diagnostics)
        checkCycles(config, &diagnostics)
        checkIQNs(config, &diagnostics)
        checkSecrets(config, &diagnostics)
        checkGateways(config, &diagnostics)
    }

    /// A target with `gateway` lines is served by several Targe instances at once: this one
    /// must be among them (`[server] gateway-name`), and every LU must be an RBD image, the
    /// only kind of device that every gateway reaches and whose lock says which one serves.
    private static func checkGateways(_ config: TargeConfig, _ diagnostics: inout Diagnostics) {
        for target in config.targets where !target.gateways.isEmpty {
            let line = target.gateways[0].line
            guard let name = config.server.gatewayName else {
                diagnostics.error(line, "[target \(target.name)] has gateways but [server] has no gateway-name"
                    + " saying which one this is")
                continue
            }
            if !target.gateways.contains(where: { $0.name == name }) {
                diagnostics.error(line, "[target \(target.name)] does not list this gateway ('\(name)',"
                    + " [server] gateway-name) among its gateways")
            }
            for lun in target.luns {
                guard let device = config.device(named: lun.device) else {
                    if config.combination(named: lun.device) != nil {
                        diagnostics.error(lun.line, "lun \(lun.lun) of [target \(target.name)] is combination '\(lun.device)';"
                            + " a target with gateways exports RBD images only")
                    }
                    continue
                }
                if case .rbd = device.source { continue }
                diagnostics.error(lun.line, "lun \(lun.lun) of [target \(target.name)] is device '\(lun.device)', which is"
                    + " not an RBD image; a target with gateways exports RBD images only (other gateways cannot reach it)")
            }
        }
    }

    /// Devices and combinations share one namespace (both can be members and LUNs);
    /// targets have their own.
    private static func checkNames(_ config: TargeConfig, _ diagnostics: inout Diagnostics) {
        var storage: [String: (kind: String, line: Int)] = [:]
        let all = config.devices.map { ("device", $0.name, $0.line) } + config.combinations.map { ("combination", $0.name, $0.line) }
        for (kind, name, line) in all.sorted(by: { $0.2 < $1.2 }) {
            if let first = storage[name] {
                diagnostics.error(line, "duplicate name '\(name)': already a \(first.kind) at line \(first.line)")
            } else {
                storage[name] = (kind, line)
            }
        }
        var targets: [String: Int] = [:]
        for target in config.targets {
            if let first = targets[target.name] {
                diagnostics.error(target.line, "duplicate target '\(target.name)' (first at line \(first))")
            } else {
                targets[target.name] = target.line
            }
        }
    }

    /// SPEC 1: overlapping slices of one path would let two LUNs corrupt each other.
    /// Paths are compared as written; two spellings of one device are caught when opened.
    private static func checkSlices(_ config: TargeConfig, _ diagnostics: inout Diagnostics) {
        var seen: [DeviceConfig] = []
        for device in config.devices {
            guard let path = device.path else { continue }
            let end = device.size.map { device.offset &+ $0 } ?? UInt64.max
            for other in seen where other.path == path {
                let otherEnd = other.size.map { other.offset &+ $0 } ?? UInt64.max
                if device.offset < otherEnd && other.offset < end {
                    diagnostics.error(device.line, "device '\(device.name)' overlaps device '\(other.name)'"
                        + " (line \(other.line)) on \(path)")
                }
            }
            seen.append(device)
        }
    }

    /// Every member and LUN must name something that exists. A device has at most one user
    /// (a combination or a target): two writers that do not know of each other corrupt it.
    /// A combination is a member of at most one combination and exported by at most one
    /// target, but may be both at once: the contract example exports `mirror` itself and,
    /// read-only, inside `big`, and a RAID layer stays consistent under both views.
    private static func checkUsers(_ config: TargeConfig, _ diagnostics: inout Diagnostics) {
        let devices = Set(config.devices.map(\.name))
        let known = devices.union(config.combinations.map(\.name))
        var memberOf: [String: (who: String, line: Int)] = [:]
        var exportedBy: [String: (who: String, line: Int)] = [:]
        func use(_ name: String, by who: String, line: Int, asMember: Bool) {
            let first = devices.contains(name)
                ? memberOf[name] ?? exportedBy[name]
                : asMember ? memberOf[name] : exportedBy[name]
            if let first {
                diagnostics.error(line, "'\(name)' is used by both \(first.who) (line \(first.line)) and \(who)")
            } else if asMember {
                memberOf[name] = (who, line)
            } else {
                exportedBy[name] = (who, line)
            }
        }
        for combination in config.combinations {
            let line = combination.lines["members"] ?? combination.line
            var listed: Set<String> = []
            for member in combination.members {
                guard listed.insert(member).inserted else {
                    diagnostics.error(line, "member '\(member)' appears twice in [combination \(combination.name)]")
                    continue
                }
                guard known.contains(member) else {
                    diagnostics.error(line, "unknown member '\(member)' in [combination \(combination.name)]")
                    continue
                }
                use(member, by: "combination '\(combination.name)'", line: line, asMember: true)
            }
        }
        for target in config.targets {
            for lun in target.luns {
                guard known.contains(lun.device) else {
                    diagnostics.error(lun.line, "unknown device or combination '\(lun.device)' for lun \(lun.lun)"
                        + " in [target \(target.name)]")
                    continue
                }
                use(lun.device, by: "target '\(target.name)' lun \(lun.lun)", line: lun.line, asMember: false)
            }
        }
    }

    /// A combination that contains itself, directly or through others, has no size.
    private static func checkCycles(_ config: TargeConfig, _ diagnostics: inout Diagnostics) {
        var byName: [String: CombinationConfig] = [:]
        for combination in config.combinations where byName[combination.name] == nil {
            byName[combination.name] = combination
        }
        var done: Set<String> = []
        var reported: Set<Set<String>> = []
        // Depth-first; `path` is the chain being explored, so a member already on it closes a cycle.
        func visit(_ name: String, path: [String]) {
            if let start = path.firstIndex(of: name) {
                let cycle = Array(path[start...])
                guard reported.insert(Set(cycle)).inserted else { return }
                let first = cycle.compactMap { byName[$0] }.min { $0.line < $1.line }!
                diagnostics.error(first.lines["members"] ?? first.line,
                                  "combinations form a cycle: " + (cycle + [name]).joined(separator: " -> "))
                return
            }
            guard !done.contains(name), let combination = byName[name] else { return }
            for member in combination.members where byName[member] != nil {
                visit(member, path: path + [name])
            }
            done.insert(name)
        }
        for combination in config.combinations {
            visit(combination.name, path: [])
        }
    }

    /// Initiators address targets by IQN, so two targets with one IQN cannot both be reached.
    private static func checkIQNs(_ config: TargeConfig, _ diagnostics: inout Diagnostics) {
        var seen: [String: TargetConfig] = [:]
        for target in config.targets where !target.iqn.isEmpty {
            if let first = seen[target.iqn] {
                diagnostics.error(target.lines["iqn"] ?? target.line, "target '\(target.name)' has the same IQN"
                    + " \(target.iqn) as target '\(first.name)' (line \(first.line))")
            } else {
                seen[target.iqn] = target
            }
        }
    }

    /// RFC 7143 12.1.3: secrets of at least 12 bytes unless explicitly allowed, and a secret
    /// that authenticates initiators must never authenticate the target (or a reflected
    /// challenge would let an attacker log in with the target's own answer).
    private static func checkSecrets(_ config: TargeConfig, _ diagnostics: inout Diagnostics) {
        let incoming = config.auth.incoming + config.targets.flatMap(\.incoming)
        let outgoing = ([config.auth.outgoing] + config.targets.map(\.outgoing)).compactMap { $0 }
        if !config.auth.allowShortSecrets {
            for user in (incoming + outgoing).sorted(by: { $0.line < $1.line })
            where user.secret.utf8.count < AuthSettings.minimumSecretLength {
                diagnostics.error(user.line, "CHAP secret for '\(user.name)' is shorter than"
                    + " \(AuthSettings.minimumSecretLength) bytes (allow-short-secrets yes in [auth] permits it)")
            }
        }
        for user in outgoing {
            if let clash = incoming.first(where: { $0.secret == user.secret }) {
                diagnostics.error(user.line, "outgoing CHAP secret for '\(user.name)' is also the incoming secret"
                    + " of '\(clash.name)' (line \(clash.line)); they must differ")
            }
        }
    }
}
