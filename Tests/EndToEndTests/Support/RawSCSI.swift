import Foundation

/// Any SCSI command over a raw session: status, Data-In and sense, for commands with a small
/// parameter list (sent as immediate data) or small Data-In.
extension RawSession {
    struct SCSIResult: CustomStringConvertible {
        var status: UInt8
        var data: [UInt8]
        /// The sense bytes (SenseLength removed), empty unless CHECK CONDITION.
        var sense: [UInt8]

        var senseKey: UInt8? { sense.count > 2 ? sense[2] & 0x0f : nil }
        var asc: UInt8? { sense.count > 13 ? sense[12] : nil }
        var description: String {
            status == 0x02 ? "CHECK CONDITION key 0x\(String(senseKey ?? 0, radix: 16)) asc 0x\(String(asc ?? 0, radix: 16))"
                : "status 0x\(String(status, radix: 16)), \(data.count) bytes"
        }
    }

    /// Sends one command (a parameter list goes as immediate data: the login allowed it) and
    /// waits for its status, answering target pings meanwhile.
    func execute(_ cdb: [UInt8], dataOut: [UInt8] = [], expectedIn: UInt32 = 0) throws -> SCSIResult {
        let tag = nextITT()
        try send(scsiCommand(cdb: cdb, read: expectedIn > 0, write: !dataOut.isEmpty,
                             expectedLength: dataOut.isEmpty ? expectedIn : UInt32(dataOut.count),
                             data: dataOut, itt: tag))
        var payload: [UInt8] = []
        for _ in 0..<64 {
            let rsp = try readPDU()
            switch rsp.opcode {
            case Opcode.dataIn where rsp.u32(16) == tag:
                payload += rsp.data
                if rsp.flags & 0x01 != 0 { return SCSIResult(status: rsp.bhs[3], data: payload, sense: []) }
            case Opcode.scsiResponse where rsp.u32(16) == tag:
                let sense = rsp.data.count > 2 ? Array(rsp.data.dropFirst(2)) : []
                return SCSIResult(status: rsp.bhs[3], data: payload, sense: sense)
            case Opcode.reject:
                throw E2EError("command rejected, reason 0x\(String(rsp.bhs[2], radix: 16))")
            case Opcode.nopIn where rsp.u32(20) != 0xFFFF_FFFF:
                var reply = nopOut(itt: 0xFFFF_FFFF)
                reply.setU32(20, rsp.u32(20))
                try send(reply)
            default:
                continue
            }
        }
        throw E2EError("no status for CDB \(cdb.prefix(2))")
    }

    /// TEST UNIT READY until GOOD: a new nexus first collects its unit attentions.
    func clearUnitAttentions() throws {
        for _ in 0..<8 where try execute([0, 0, 0, 0, 0, 0]).status != 0 {}
    }
}

/// CDBs and parameter lists for reservations (SPC-4 6.15, 6.16; SPC-2 RESERVE(6)).
enum ReservationCDB {
    static func persistentReserveOut(serviceAction: UInt8, type: UInt8 = 0, listLength: UInt32 = 24) -> [UInt8] {
        [0x5F, serviceAction, type, 0, 0,
         UInt8(listLength >> 24), UInt8(listLength >> 16 & 0xff), UInt8(listLength >> 8 & 0xff), UInt8(listLength & 0xff), 0]
    }

    /// Basic parameter list: reservation key, service action reservation key, APTPL bit.
    static func parameters(key: UInt64, serviceActionKey: UInt64 = 0, aptpl: Bool = false) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 24)
        for i in 0..<8 {
            out[i] = UInt8(key >> (56 - 8 * UInt64(i)) & 0xff)
            out[8 + i] = UInt8(serviceActionKey >> (56 - 8 * UInt64(i)) & 0xff)
        }
        out[20] = aptpl ? 0x01 : 0
        return out
    }

    static func persistentReserveIn(serviceAction: UInt8, allocation: UInt16 = 256) -> [UInt8] {
        [0x5E, serviceAction, 0, 0, 0, 0, 0, UInt8(allocation >> 8), UInt8(allocation & 0xff), 0]
    }

    static let read10: [UInt8] = [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]
    static let reserve6: [UInt8] = [0x16, 0, 0, 0, 0, 0]

    static func be64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 << 8 | UInt64(bytes[offset + $1]) }
    }
}
