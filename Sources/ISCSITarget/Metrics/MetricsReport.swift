import DeviceServer
import SCSI
import Storage

/// Everything `/metrics` serves, gathered from the running objects at scrape time and
/// written in the exposition format. One series per LU, target, device and member; sums over
/// them are PromQL's job.
public struct MetricsReport: Sendable {
    public var catalog: TargetCatalog
    public var sessions: [SessionRegistry.SessionSummary]
    public var connections: (open: Int, loggingIn: Int)
    public var activity: ActivityCounters.Snapshot
    public var process: ProcessSample?
    /// Seconds since the epoch when the process started.
    public var startTime: Double

    public static func capture(registry: SessionRegistry, process: ProcessSample?, startTime: Double) -> MetricsReport {
        MetricsReport(catalog: registry.catalog, sessions: registry.sessions, connections: registry.connectionCounts,
                      activity: registry.activity.snapshot, process: process, startTime: startTime)
    }

    /// The `le` labels of the latency buckets, in seconds.
    static let latencyBounds: [String] = LogicalUnitMetrics.latencyBounds.map { Exposition.format(Double($0) / 1e9) }

    /// Sense keys always exported (so that `rate()` sees their first error); the others
    /// appear once they occur.
    static let usualSenseKeys: Set<SenseKey> = [.notReady, .mediumError, .hardwareError, .illegalRequest,
                                                .unitAttention, .dataProtect, .abortedCommand, .miscompare]

    public func render() -> String {
        // About 8 KiB of text per LU (its histograms are most of it), and a few KiB besides.
        var out = Exposition(reservingCapacity: 16_384 + 8_192 * catalog.targets.reduce(0) { $0 + $1.units.count })
        renderUnits(into: &out)
        renderTargets(into: &out)
        renderDevices(into: &out)
        renderProcess(into: &out)
        return out.text
    }

    private func renderUnits(into out: inout Exposition) {
        let units: [(labels: Exposition.Labels, unit: LogicalUnit, counters: LogicalUnitCounters)] =
            catalog.targets.flatMap { target in
                target.lunList.compactMap { lun in
                    target.units[lun].map { (["target": target.name, "lun": String(lun)], $0, $0.metrics.snapshot()) }
                }
            }
        out.family("targe_lu_commands_total", .counter, help: "SCSI commands answered, by type (read, write, flush, other).")
        for u in units {
            for c in LogicalUnitMetrics.CommandClass.allCases {
                out.sample("targe_lu_commands_total", u.labels.adding("type", c.name), u.counters.commands(c))
            }
        }
        out.family("targe_lu_read_bytes_total", .counter, help: "Bytes read from the LU for initiators.")
        for u in units { out.sample("targe_lu_read_bytes_total", u.labels, u.counters.readBytes) }
        out.family("targe_lu_written_bytes_total", .counter, help: "Bytes written to the LU by initiators' write commands.")
        for u in units { out.sample("targe_lu_written_bytes_total", u.labels, u.counters.writtenBytes) }
        out.family("targe_lu_command_duration_seconds", .histogram,
                   help: "Time from a command's arrival to its answer, by type.")
        for u in units {
            for c in [LogicalUnitMetrics.CommandClass.read, .write, .flush] {
                let latency = u.counters.latency[c.rawValue]
                out.histogram("targe_lu_command_duration_seconds", u.labels.adding("type", c.name),
                              bounds: Self.latencyBounds, counts: latency.buckets, sum: Double(latency.sumNanoseconds) / 1e9)
            }
        }
        out.family("targe_lu_errors_total", .counter, help: "Commands answered CHECK CONDITION, by sense key.")
        for u in units {
            for key in (0...15).compactMap({ SenseKey(rawValue: UInt8($0)) }) {
                let count = u.counters.errorsBySenseKey[Int(key.rawValue)]
                guard count > 0 || Self.usualSenseKeys.contains(key) else { continue }
                out.sample("targe_lu_errors_total", u.labels.adding("sense_key", key.metricName), count)
            }
        }
        out.family("targe_lu_reservation_conflicts_total", .counter, help: "Commands answered RESERVATION CONFLICT.")
        for u in units { out.sample("targe_lu_reservation_conflicts_total", u.labels, u.counters.reservationConflicts) }
        out.family("targe_lu_commands_in_flight", .gauge, help: "Commands the LU is executing now.")
        for u in units { out.sample("targe_lu_commands_in_flight", u.labels, u.counters.inFlight) }
        out.family("targe_lu_capacity_bytes", .gauge, help: "The LU's capacity.")
        for u in units {
            let info = u.unit.info
            out.sample("targe_lu_capacity_bytes", u.labels, info.blockCount * UInt64(info.blockSize))
        }
    }

    private func renderTargets(into out: inout Exposition) {
        // Every configured target has a series, even with no session ("" is discovery).
        var sessionsByTarget: [String: Int] = Dictionary(uniqueKeysWithValues: catalog.targets.map { ($0.name, 0) })
        var connectionsByTarget = sessionsByTarget
        sessionsByTarget[""] = 0
        connectionsByTarget[""] = 0
        for s in sessions {
            sessionsByTarget[s.targetName ?? "", default: 0] += 1
            connectionsByTarget[s.targetName ?? "", default: 0] += s.connections
        }
        out.family("targe_sessions", .gauge, help: "Logged-in sessions per target (target=\"\": discovery sessions).")
        for (target, n) in sessionsByTarget.sorted(by: { $0.key < $1.key }) {
            out.sample("targe_sessions", ["target": target], n)
        }
        out.family("targe_session_connections", .gauge, help: "Connections of logged-in sessions per target.")
        for (target, n) in connectionsByTarget.sorted(by: { $0.key < $1.key }) {
            out.sample("targe_session_connections", ["target": target], n)
        }
        out.family("targe_connections", .gauge, help: "TCP connections open now, logged in or not.")
        out.sample("targe_connections", .none, connections.open)
        out.family("targe_connections_logging_in", .gauge, help: "TCP connections that have not finished their login.")
        out.sample("targe_connections_logging_in", .none, connections.loggingIn)
        out.family("targe_connections_refused_total", .counter,
                   help: "Connections closed at accept by max-connections or max-logins-per-address.")
        out.sample("targe_connections_refused_total", .none, activity.connectionsRefused)

        out.family("targe_logins_total", .counter,
                   help: "Logins by outcome (ok, chap_failure, acl_refused, other); target=\"\": discovery or no configured target.")
        var logins = activity.logins
        for target in catalog.targets.map(\.name) + [""] {
            for outcome in ActivityCounters.LoginOutcome.allCases {
                logins[ActivityCounters.Key(target: target, what: outcome.rawValue), default: 0] += 0
            }
        }
        for (key, n) in logins.sorted(by: { ($0.key.target, $0.key.what) < ($1.key.target, $1.key.what) }) {
            out.sample("targe_logins_total", ["target": key.target, "outcome": key.what], n)
        }
        out.family("targe_logouts_total", .counter, help: "Logout Requests answered, per target.")
        var logouts = activity.logouts
        for target in catalog.targets.map(\.name) { logouts[target, default: 0] += 0 }
        for (target, n) in logouts.sorted(by: { $0.key < $1.key }) {
            out.sample("targe_logouts_total", ["target": target], n)
        }
        out.family("targe_task_management_total", .counter, help: "Task management requests, per target and function.")
        for (key, n) in activity.taskManagement.sorted(by: { ($0.key.target, $0.key.what) < ($1.key.target, $1.key.what) }) {
            out.sample("targe_task_management_total", ["target": key.target, "function": key.what], n)
        }
    }

    private func renderDevices(into out: inout Exposition) {
        // Every device under an exported LU, each once, members included.
        var devices: [(BlockDevice, DeviceStatus)] = []
        var seen = Set<String>()
        func walk(_ device: BlockDevice) {
            guard seen.insert(device.name).inserted else { return }
            let status = device.reportedStatus
            devices.append((device, status))
            status.members.forEach { walk($0.device) }
        }
        for target in catalog.targets { for lun in target.lunList { target.units[lun].map { walk($0.device) } } }
        out.family("targe_device_size_bytes", .gauge, help: "Size of each device, combinations and members included.")
        for (device, status) in devices {
            out.sample("targe_device_size_bytes", ["device": device.name, "kind": status.kind], device.size)
        }
        // Devices that may not be able to serve (an RBD image whose cluster is unreachable).
        let gated = devices.compactMap { device, _ in (device as? DeviceReadiness).map { (device.name, $0.isReady) } }
        if !gated.isEmpty {
            out.family("targe_device_ready", .gauge,
                       help: "1 while a device that depends on a cluster (RBD) can serve; 0 while its LU answers NOT READY.")
            for (name, ready) in gated { out.sample("targe_device_ready", ["device": name], ready ? 1 : 0) }
        }
        // Devices that several gateways serve: which role this gateway has (a state set).
        let shared = devices.compactMap { device, _ in
            (device as? SharedDevice).flatMap { $0.gatewayName.isEmpty ? nil : (device.name, $0.role) }
        }
        if !shared.isEmpty {
            out.family("targe_gateway_role", .gauge,
                       help: "1 for this gateway's role for a shared device: active (holds the lock and serves), standby, unavailable.")
            for (name, role) in shared {
                let current: String
                switch role {
                case .active: current = "active"
                case .standby: current = "standby"
                case .unavailable: current = "unavailable"
                }
                for state in ["active", "standby", "unavailable"] {
                    out.sample("targe_gateway_role", ["device": name, "role": state], state == current ? 1 : 0)
                }
            }
        }
        let members = devices.flatMap { device, status in
            status.members.compactMap { m in m.health.map { (device.name, m.device.name, $0) } }
        }
        out.family("targe_raid1_member_state", .gauge, help: "1 for the state each RAID1 member is in (healthy, resyncing, failed).")
        for (device, member, health) in members {
            for state in [MemberStatus.State.healthy, .resyncing, .failed] {
                out.sample("targe_raid1_member_state", ["device": device, "member": member, "state": state.rawValue],
                           health.state == state ? 1 : 0)
            }
        }
        out.family("targe_raid1_member_resync_ratio", .gauge, help: "Share of a RAID1 member in sync (1: healthy, 0: failed).")
        for (device, member, health) in members {
            out.sample("targe_raid1_member_resync_ratio", ["device": device, "member": member], health.resyncProgress)
        }
    }

    private func renderProcess(into out: inout Exposition) {
        out.family("process_start_time_seconds", .gauge, help: "Start time of the process since the epoch in seconds.")
        out.sample("process_start_time_seconds", .none, startTime)
        guard let process else { return }
        out.family("process_resident_memory_bytes", .gauge, help: "Resident memory size in bytes.")
        out.sample("process_resident_memory_bytes", .none, process.residentBytes)
        out.family("process_open_fds", .gauge, help: "Number of open file descriptors.")
        out.sample("process_open_fds", .none, process.openDescriptors)
        out.family("process_max_fds", .gauge, help: "Maximum number of open file descriptors.")
        out.sample("process_max_fds", .none, process.maxDescriptors)
        out.family("process_cpu_seconds_total", .counter, help: "Total user and system CPU time spent in seconds.")
        out.sample("process_cpu_seconds_total", .none, process.cpuSeconds)
        out.family("targe_event_loop_delay_seconds", .gauge, help: "How late each event loop ran a task submitted at scrape time.")
        for (i, delay) in process.loopDelays.enumerated() {
            out.sample("targe_event_loop_delay_seconds", ["loop": String(i)], delay)
        }
    }
}

extension SenseKey {
    /// The sense key as a label value: "not_ready", "medium_error", ...
    var metricName: String {
        switch self {
        case .noSense: return "no_sense"
        case .recoveredError: return "recovered_error"
        case .notReady: return "not_ready"
        case .mediumError: return "medium_error"
        case .hardwareError: return "hardware_error"
        case .illegalRequest: return "illegal_request"
        case .unitAttention: return "unit_attention"
        case .dataProtect: return "data_protect"
        case .blankCheck: return "blank_check"
        case .vendorSpecific: return "vendor_specific"
        case .copyAborted: return "copy_aborted"
        case .abortedCommand: return "aborted_command"
        case .reserved0C: return "reserved_0c"
        case .volumeOverflow: return "volume_overflow"
        case .miscompare: return "miscompare"
        case .completed: return "completed"
        }
    }
}
