/// Why `LogicalUnitState.restorePersistentReservations(_:)` refused a snapshot.
public enum PersistentReservationSnapshotError: Error, Sendable, Equatable {
    /// Shorter than its own fields say.
    case truncated
    /// Not a Targe persistent reservation snapshot.
    case badMagic
    /// Written by a newer format.
    case unsupportedVersion(UInt8)
    /// The checksum does not match (a damaged file).
    case checksumMismatch
    /// Well-formed bytes with impossible values (an unknown reservation type, a holder that
    /// is not registered, too many registrations, bytes after the end).
    case invalidContent
}

/// The persistent reservation state as bytes, for the transport to keep across restarts
/// (SPC-4 5.12.5, APTPL). Layout, big-endian:
///
///     0  "TGPR"               4  version (1)          5  flags: bit 0 APTPL
///     6  PRGENERATION (4)    10  registration count (4)
///        per registration: key (8), flags (1: bit 0 ALL_TG_PT), ISID (6),
///        relative target port (2), initiator name (2-byte length + UTF-8),
///        target port name (2-byte length + UTF-8)
///        reservation: 0, or 1 + type (1) + index of the holder's registration (4)
///        FNV-1a 32 of everything before it (4)
///
/// Without APTPL the snapshot holds no registrations (nothing survives a power loss).
enum PersistentReservationSnapshot {
    static let magic: [UInt8] = Array("TGPR".utf8)
    static let version: UInt8 = 1

    /// `everything`: the registrations even without APTPL (the state gateways share, which
    /// must outlive a failover however APTPL is set).
    static func encode(_ pr: PersistentReservations, everything: Bool = false) -> [UInt8] {
        var out = magic
        out.append(version)
        guard pr.persistThroughPowerLoss || everything else {
            out.append(0)
            out.appendBE32(0)
            out.appendBE32(0)
            out.append(0)
            out.appendBE32(checksum(out))
            return out
        }
        out.append(pr.persistThroughPowerLoss ? 0x01 : 0x00)
        out.appendBE32(pr.generation)
        out.appendBE32(UInt32(pr.registrations.count))
        for registration in pr.registrations {
            out.appendBE64(registration.key)
            out.append(registration.allTargetPorts ? 0x01 : 0x00)
            out.appendBE16(UInt16(truncatingIfNeeded: registration.nexus.isid >> 32))
            out.appendBE32(UInt32(truncatingIfNeeded: registration.nexus.isid))
            out.appendBE16(registration.nexus.relativeTargetPort)
            appendString(registration.nexus.initiatorName, to: &out)
            appendString(registration.nexus.targetPortName, to: &out)
        }
        if let reservation = pr.reservation {
            out.append(1)
            out.append(reservation.type.rawValue)
            let holder = reservation.type.allRegistrants ? nil
                : pr.registrations.firstIndex { $0.nexus == reservation.holder }
            out.appendBE32(holder.map { UInt32($0) } ?? 0xFFFF_FFFF)
        } else {
            out.append(0)
        }
        out.appendBE32(checksum(out))
        return out
    }

    static func decode(_ bytes: [UInt8]) throws -> PersistentReservations {
        guard bytes.count >= 4 else { throw PersistentReservationSnapshotError.truncated }
        guard Array(bytes[0..<4]) == magic else { throw PersistentReservationSnapshotError.badMagic }
        guard bytes.count >= 5 else { throw PersistentReservationSnapshotError.truncated }
        guard bytes[4] == version else { throw PersistentReservationSnapshotError.unsupportedVersion(bytes[4]) }
        guard bytes.count >= 5 + 1 + 4 + 4 + 1 + 4 else { throw PersistentReservationSnapshotError.truncated }
        let body = bytes[0..<(bytes.count - 4)]
        var tail = Reader(bytes: bytes, offset: bytes.count - 4)
        guard try tail.u32() == checksum(Array(body)) else { throw PersistentReservationSnapshotError.checksumMismatch }

        var reader = Reader(bytes: Array(body), offset: 5)
        var pr = PersistentReservations()
        pr.persistThroughPowerLoss = try reader.u8() & 0x01 != 0
        pr.generation = try reader.u32()
        let count = Int(try reader.u32())
        guard count <= PersistentReservations.registrationLimit else {
            throw PersistentReservationSnapshotError.invalidContent
        }
        for _ in 0..<count {
            let key = try reader.u64()
            let flags = try reader.u8()
            let isid = UInt64(try reader.u16()) << 32 | UInt64(try reader.u32())
            let relativePort = try reader.u16()
            let initiatorName = try reader.string()
            let targetPortName = try reader.string()
            let nexus = NexusIdentity(initiatorName: initiatorName, isid: isid, targetPortName: targetPortName,
                                      relativeTargetPort: relativePort)
            pr.registrations.append(.init(key: key, nexus: nexus, allTargetPorts: flags & 0x01 != 0))
        }
        if try reader.u8() != 0 {
            guard let type = PersistentReservationType(rawValue: try reader.u8()) else {
                throw PersistentReservationSnapshotError.invalidContent
            }
            let holder = try reader.u32()
            if type.allRegistrants {
                guard !pr.registrations.isEmpty else { throw PersistentReservationSnapshotError.invalidContent }
                pr.reservation = .init(type: type, holder: pr.registrations[0].nexus)
            } else {
                guard Int(holder) < pr.registrations.count else { throw PersistentReservationSnapshotError.invalidContent }
                pr.reservation = .init(type: type, holder: pr.registrations[Int(holder)].nexus)
            }
        }
        guard reader.offset == body.count else { throw PersistentReservationSnapshotError.invalidContent }
        return pr
    }

    static func appendString(_ text: String, to out: inout [UInt8]) {
        let bytes = Array(text.utf8.prefix(Int(UInt16.max)))
        out.appendBE16(UInt16(bytes.count))
        out += bytes
    }

    /// FNV-1a, 32 bits.
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.reduce(0x811C_9DC5 as UInt32) { ($0 ^ UInt32($1)) &* 0x0100_0193 }
    }

    struct Reader {
        let bytes: [UInt8]
        var offset: Int

        mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count <= bytes.count - offset else { throw PersistentReservationSnapshotError.truncated }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }

        mutating func value(_ count: Int) throws -> UInt64 {
            try take(count).reduce(0) { $0 << 8 | UInt64($1) }
        }

        mutating func u8() throws -> UInt8 { UInt8(try value(1)) }
        mutating func u16() throws -> UInt16 { UInt16(try value(2)) }
        mutating func u32() throws -> UInt32 { UInt32(try value(4)) }
        mutating func u64() throws -> UInt64 { try value(8) }

        mutating func string() throws -> String {
            let length = Int(try u16())
            return String(decoding: try take(length), as: UTF8.self)
        }
    }
}

extension LogicalUnitState {
    /// The persistent reservation state to keep across restarts (see
    /// `PersistentReservationSnapshot` for the layout). Without APTPL it describes an empty
    /// state, so saving it forgets what an earlier APTPL snapshot kept.
    public func persistentReservationsSnapshot() -> [UInt8] {
        PersistentReservationSnapshot.encode(persistentReservations)
    }

    /// The whole persistent reservation state, registrations included whatever APTPL says:
    /// what gateways serving one LU share (in the cluster, beside the image).
    public func sharedReservationsSnapshot() -> [UInt8] {
        PersistentReservationSnapshot.encode(persistentReservations, everything: true)
    }

    /// Replaces the persistent reservation state with a snapshot's (at start-up, before any
    /// command) and clears `persistentReservationsDirty`. Throws, changing nothing, when the
    /// bytes are not a valid snapshot.
    public mutating func restorePersistentReservations(_ bytes: [UInt8]) throws {
        persistentReservations = try PersistentReservationSnapshot.decode(bytes)
        persistentReservationsDirty = false
    }
}
