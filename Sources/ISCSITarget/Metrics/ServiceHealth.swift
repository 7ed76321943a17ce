import Storage

/// Whether the target is serving, and why not.
public struct ServiceHealth: Sendable, Equatable {
    public var serving: Bool
    /// One line per reason the target does not serve, or per warning (a degraded mirror).
    public var notes: [String]

    public init(serving: Bool, notes: [String]) {
        self.serving = serving
        self.notes = notes
    }

    /// The body of `/healthz`.
    public var text: String {
        ([serving ? "ok" : "unavailable"] + notes).joined(separator: "\n") + "\n"
    }
}

extension ServiceHealth {
    /// The target serves while it is not stopping and listens on at least one portal. A
    /// mirror member that is not healthy is a note, not an outage: the LU still serves.
    public static func evaluate(catalog: TargetCatalog, listening: [String], stopping: Bool) -> ServiceHealth {
        var reasons: [String] = []
        if stopping { reasons.append("stopping: sessions are being logged out") }
        if listening.isEmpty { reasons.append("no portal is listening") }
        var notes: [String] = []
        var seen = Set<String>()
        func walk(_ device: BlockDevice) {
            guard seen.insert(device.name).inserted else { return }
            for member in device.reportedStatus.members {
                if let health = member.health, health.state != .healthy {
                    notes.append("degraded: \(device.name): \(health)")
                }
                walk(member.device)
            }
        }
        for target in catalog.targets { for unit in target.units.values { walk(unit.device) } }
        return ServiceHealth(serving: reasons.isEmpty, notes: reasons + notes)
    }
}
