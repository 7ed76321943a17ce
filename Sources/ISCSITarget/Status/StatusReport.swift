import DeviceServer
import Storage

/// What `targe status` (and the console menu's status page) shows: the targets with their
/// LUNs, the device tree under each LUN with engine and health, and the sessions. A value
/// built from the live objects, rendered as plain text that fits an 80-column terminal.
public struct StatusReport: Sendable, Equatable {
    /// One device in the tree: a backing file or RAM disk, or a combination with members.
    public struct Device: Sendable, Equatable {
        public var name: String
        /// "aio", "buffered", "ram", "raid0 concat", "raid0 stripe 64 KiB", "raid1".
        public var kind: String
        /// Where it lives ("/dev/vdb", "/srv/a.img"), empty for RAM disks and combinations.
        public var source: String
        public var size: UInt64
        /// "healthy", "failed (reason)", "resyncing 42%": a RAID1 member's state, else empty.
        public var health: String
        public var members: [Device]
        /// The same health as a value (nil: not a mirror member).
        public var memberStatus: MemberStatus? = nil
    }

    /// What an LU has done: totals since the start and the rates of the last second.
    public struct IO: Sendable, Equatable {
        public var counters: LogicalUnitCounters
        public var rates: RateSampler.Rates
    }

    public struct Unit: Sendable, Equatable {
        public var lun: UInt64
        public var blockSize: Int
        public var readOnly: Bool
        public var device: Device
        public var io: IO? = nil
    }

    public struct Target: Sendable, Equatable {
        public var name: String
        public var units: [Unit]
    }

    public var pid: Int32
    public var portals: [String]
    public var targets: [Target]
    public var sessions: [SessionRegistry.SessionSummary]

    /// Builds the report from the running objects. `sources` maps device names to their
    /// path (from the config) for display.
    public static func capture(pid: Int32, portals: [String], catalog: TargetCatalog, registry: SessionRegistry,
                               sources: [String: String], rates: RateSampler? = nil) -> StatusReport {
        let targets = catalog.targets.map { target in
            Target(name: target.name, units: target.lunList.compactMap { lun in
                guard let unit = target.units[lun] else { return nil }
                return Unit(lun: lun, blockSize: unit.info.blockSize, readOnly: unit.info.readOnly,
                            device: describe(unit.device, health: nil, sources: sources),
                            io: rates.map { IO(counters: unit.metrics.snapshot(), rates: $0.rates(of: unit)) })
            })
        }
        return StatusReport(pid: pid, portals: portals, targets: targets, sessions: registry.sessions)
    }

    /// The tree under `device` as the device reports it (`DeviceStatusReporting`); `health`
    /// is the device's own, rendered, when it is a member of a mirror.
    static func describe(_ device: BlockDevice, health: MemberStatus?, sources: [String: String]) -> Device {
        let status = device.reportedStatus
        let members = status.members.map { member in
            describe(member.device, health: member.health, sources: sources)
        }
        return Device(name: device.name, kind: status.kind, source: sources[device.name] ?? "", size: device.size,
                      health: health.map(healthText) ?? "", members: members, memberStatus: health)
    }

    static func healthText(_ status: MemberStatus) -> String {
        switch status.state {
        case .healthy: return "healthy"
        case .failed: return "FAILED (\(status.reason))"
        case .resyncing:
            return "resyncing \(Int((status.resyncProgress * 100).rounded(.down)))%"
        }
    }

    /// Every RAID1 member that is not healthy, for a one-line summary.
    public var degradedMembers: [String] {
        var found: [String] = []
        func walk(_ d: Device) {
            if !d.health.isEmpty && d.health != "healthy" { found.append(d.name) }
            d.members.forEach(walk)
        }
        for t in targets { for u in t.units { walk(u.device) } }
        return found
    }

    /// Plain text, no line over 79 columns (long names are cut with "...").
    public func render() -> [String] {
        var lines: [String] = []
        lines.append("targe pid \(pid), listening on \(portals.joined(separator: " "))")
        let degraded = degradedMembers
        lines.append(degraded.isEmpty ? "health: ok" : "health: DEGRADED (\(degraded.joined(separator: ", ")))")
        lines.append("")
        if targets.isEmpty { lines.append("no targets") }
        for target in targets {
            lines.append("target \(target.name)")
            for unit in target.units {
                let ro = unit.readOnly ? ", read-only" : ""
                lines.append("  lun \(unit.lun): \(sizeText(unit.device.size)), \(unit.blockSize)-byte blocks\(ro)")
                renderDevice(unit.device, indent: 4, into: &lines)
                if let io = unit.io {
                    let r = io.rates
                    lines.append("    io: \(Int(r.readIOPS.rounded())) reads/s \(Self.megabytes(r.readBytesPerSecond)) MB/s, "
                                 + "\(Int(r.writeIOPS.rounded())) writes/s \(Self.megabytes(r.writeBytesPerSecond)) MB/s")
                }
            }
        }
        lines.append("")
        lines.append(sessions.isEmpty ? "sessions: none" : "sessions: \(sessions.count)")
        for s in sessions {
            let isid = String(s.isid, radix: 16)
            lines.append("  \(s.initiatorName) from \(s.peer)")
            lines.append("    tsih \(s.tsih) isid \(isid) -> \(s.targetName ?? "(discovery)")")
        }
        return lines.map { Self.fit($0) }
    }

    private func renderDevice(_ d: Device, indent: Int, into lines: inout [String]) {
        var text = String(repeating: " ", count: indent) + "\(d.name): \(d.kind), \(sizeText(d.size))"
        if !d.source.isEmpty { text += ", \(d.source)" }
        if !d.health.isEmpty { text += " [\(d.health)]" }
        lines.append(text)
        for m in d.members { renderDevice(m, indent: indent + 2, into: &lines) }
    }

    /// Bytes per second as MB/s (10^6) with one decimal.
    static func megabytes(_ bytesPerSecond: Double) -> String {
        let tenths = Int((bytesPerSecond / 100_000).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func fit(_ line: String, width: Int = 79) -> String {
        line.count <= width ? line : String(line.prefix(width - 3)) + "..."
    }
}
