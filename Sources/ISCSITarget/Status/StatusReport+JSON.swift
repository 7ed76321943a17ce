import DeviceServer
import Storage

/// `targe status --json`: the same report for scripts. The schema is documented in the
/// README ("Status for scripts"); `schema` grows when a field changes meaning, and fields
/// are only ever added within one schema number.
extension StatusReport {
    public static let jsonSchema: Int64 = 1

    public func json() -> JSONValue {
        let degraded = degradedMembers
        return .object([
            ("schema", .integer(Self.jsonSchema)),
            ("pid", .integer(Int64(pid))),
            ("portals", .array(portals.map(JSONValue.string))),
            ("health", .object([
                ("status", .string(degraded.isEmpty ? "ok" : "degraded")),
                ("degraded_members", .array(degraded.map(JSONValue.string))),
            ])),
            ("targets", .array(targets.map { target in
                .object([
                    ("name", .string(target.name)),
                    ("luns", .array(target.units.map(Self.json))),
                ])
            })),
            ("sessions", .array(sessions.map { s in
                .object([
                    ("tsih", .integer(Int64(s.tsih))),
                    ("initiator", .string(s.initiatorName)),
                    ("isid", .string(String(s.isid, radix: 16))),
                    ("target", s.targetName.map(JSONValue.string) ?? .null),
                    ("peer", .string(s.peer)),
                    ("connections", .integer(Int64(s.connections))),
                ])
            })),
        ])
    }

    static func json(_ unit: Unit) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("lun", .unsigned(unit.lun)),
            ("block_size", .integer(Int64(unit.blockSize))),
            ("read_only", .bool(unit.readOnly)),
            ("size_bytes", .unsigned(unit.device.size)),
            ("device", json(unit.device)),
        ]
        if let io = unit.io {
            let c = io.counters
            members.append(("io", .object([
                ("read_commands", .unsigned(c.commands(.read))),
                ("write_commands", .unsigned(c.commands(.write))),
                ("flush_commands", .unsigned(c.commands(.flush))),
                ("other_commands", .unsigned(c.commands(.other))),
                ("read_bytes", .unsigned(c.readBytes)),
                ("written_bytes", .unsigned(c.writtenBytes)),
                ("errors", .unsigned(c.errorsBySenseKey.reduce(0, &+))),
                ("reservation_conflicts", .unsigned(c.reservationConflicts)),
                ("in_flight", .unsigned(c.inFlight)),
                ("read_iops", .number(io.rates.readIOPS)),
                ("write_iops", .number(io.rates.writeIOPS)),
                ("read_bytes_per_second", .number(io.rates.readBytesPerSecond)),
                ("write_bytes_per_second", .number(io.rates.writeBytesPerSecond)),
            ])))
        }
        return .object(members)
    }

    static func json(_ device: Device) -> JSONValue {
        .object([
            ("name", .string(device.name)),
            ("kind", .string(device.kind)),
            ("source", .string(device.source)),
            ("size_bytes", .unsigned(device.size)),
            ("member_health", device.memberStatus.map { status in
                .object([
                    ("state", .string(status.state.rawValue)),
                    ("reason", .string(status.reason)),
                    ("resync_progress", .number(status.resyncProgress)),
                ])
            } ?? .null),
            ("members", .array(device.members.map(json))),
        ])
    }
}
