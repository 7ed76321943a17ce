import FuzzSupport
import SCSI

/// The CDB decoder for an existing LU (its state carried from command to command) and for a
/// missing LUN.
///
/// Input: bytes 0-15 the first CDB; bytes 16-31 the LU and nexus setup (see `Setup`); then
/// records of 17 bytes: a control byte and a 16-byte CDB.
///
/// Two I_T nexuses, unit attentions, MODE SELECT and persistent reservations: the control
/// byte picks the nexus (bit 0: B
/// instead of A) and an event before the command (bits 1-2: 1 the other nexus is lost, 2 a
/// LOGICAL UNIT RESET from this nexus, 3 a capacity change), and a command that asks for a
/// parameter list (MODE SELECT, PERSISTENT RESERVE OUT) takes it from the input bytes after
/// its CDB and is completed with `SCSICommandDecoder.complete`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCDB(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var reader = FuzzReader(Array(fuzzBytes(data, size)))
    let first = reader.bytes(16)
    let setup = Setup(&reader)
    var state = setup.initialState
    let nexuses = [Setup.nexus(0), Setup.nexus(1)]
    if !setup.keepPowerOnAttention {
        // Each nexus's first command finds POWER ON pending; clear it, so that short inputs
        // reach the commands themselves.
        for nexus in nexuses {
            var context = setup.context
            context.nexus = nexus
            _ = SCSICommandDecoder.decode(CDB([0x00, 0, 0, 0, 0, 0]), lu: setup.lu, state: &state, context: context)
        }
    }
    var control: UInt8 = 0
    var bytes = first
    while true {
        var context = setup.context
        context.nexus = nexuses[Int(control & 1)]
        switch (control >> 1) & 3 {
        case 1: state.nexusLost(nexuses[Int(control & 1) ^ 1])
        case 2: state.logicalUnitReset(by: context.nexus)
        case 3: state.capacityChanged()
        default: break
        }
        let cdb = CDB(bytes)
        let before = state
        let action = SCSICommandDecoder.decode(cdb, lu: setup.lu, state: &state, context: context)
        checkAction(action, cdb: cdb, lu: setup.lu, stateBefore: before, context: context, missingLUN: false)
        if case .parameterData(let length) = action {
            let parameters = reader.bytes(min(length, reader.remaining))
            let done = SCSICommandDecoder.complete(cdb, parameters: parameters, lu: setup.lu, state: &state, context: context)
            switch done {
            case .good, .checkCondition, .reservationConflict, .deallocate, .sanitize:
                checkAction(done, cdb: cdb, lu: setup.lu, stateBefore: before, context: context, missingLUN: false)
            case .abortTasks(let victims):
                fuzzCheck(!victims.contains(context.nexus), "PREEMPT AND ABORT aborts its own nexus's tasks")
            case .extendedCopy(let request):
                fuzzCheck(cdb.opcode == 0x83, "a copy from \(cdb)")
                fuzzCheck(request.targets.count <= ExtendedCopyCommand.maximumTargetDescriptors
                          && request.segments.count <= ExtendedCopyCommand.maximumSegmentDescriptors,
                          "EXTENDED COPY past its limits: \(request.targets.count) targets, \(request.segments.count) segments")
                // What the transport does once the copy ends.
                state.finishCopy(request, for: context.nexus, segmentsProcessed: request.segments.count,
                                 bytesCopied: 0, failed: bytes.count % 2 == 1)
            default:
                fuzzCheck(false, "complete() returned \(done) for \(cdb)")
            }
        }
        if case .running = state.sanitize {
            // What the transport does when the sanitize ends (the fuzz input picks how).
            state.sanitizeProgressed(done: 1, of: 2)
            state.sanitizeFinished(succeeded: bytes.count % 3 != 0)
        }
        let missing = SCSICommandDecoder.decodeForMissingLUN(cdb, context: context)
        checkAction(missing, cdb: cdb, lu: setup.lu, stateBefore: before, context: context, missingLUN: true)
        if reader.isAtEnd { break }
        control = reader.byte()
        bytes = reader.bytes(16)
    }
    return 0
}

/// The LU and nexus, from bytes 16-31 of the input:
/// 16 flags (0x01 4096-byte blocks, 0x02 read-only, 0x04 write cache, 0x08 stopped,
///    0x10 descriptor sense, 0x60 MAXIMUM TRANSFER LENGTH: default / none / small / large);
/// 17 block count form; 18-25 a 64-bit value for it; 26 which LUNs the nexus sees;
/// 27 portal group tag; 28-29 small transfer limit; 30 target name length; 31 LBPPBE in
///    bits 0-3, 0x10 keep the POWER ON unit attentions, 0x80 WCE override value.
struct Setup {
    var lu: LogicalUnitInfo
    var initialState: LogicalUnitState
    var context: CommandContext
    var keepPowerOnAttention: Bool

    /// Nexus A (0) and B (1): two sessions of two initiators.
    static func nexus(_ n: Int) -> NexusIdentity {
        NexusIdentity(initiatorName: n == 0 ? "iqn.1993-08.org.debian:01:a" : "iqn.1993-08.org.debian:01:b",
                      isid: 0x8000_0000_0001 + UInt64(n), targetName: "iqn.2024-01.org.targe:disk1",
                      portalGroupTag: 1, relativeTargetPort: 1)
    }

    init(_ r: inout FuzzReader) {
        let flags = r.byte()
        let countForm = r.byte()
        let raw = r.u64()
        let lunBits = r.byte()
        let tag = r.byte()
        let smallLimit = r.u16()
        let nameLength = Int(r.byte()) % 224  // iSCSI names are at most 223 bytes (RFC 3722)
        let exponent = r.byte()

        let blockCount: UInt64
        switch countForm % 10 {
        case 0: blockCount = raw
        case 1: blockCount = raw & 0xFFFF
        case 2: blockCount = 0
        case 3: blockCount = 1
        case 4: blockCount = 2048
        case 5: blockCount = 0xFFFF_FFFF
        case 6: blockCount = 0x1_0000_0000
        case 7: blockCount = 0x1_0000_0001
        case 8: blockCount = UInt64.max
        default: blockCount = raw >> 32
        }
        let maxTransfer: UInt32?
        switch (flags >> 5) & 3 {
        case 0: maxTransfer = nil
        case 1: maxTransfer = 0
        case 2: maxTransfer = UInt32(smallLimit)
        default: maxTransfer = UInt32(smallLimit) << 16 | 0xFFFF
        }
        let base = "iqn.2024-01.org.targe:"
        let targetName = base + String(repeating: "d", count: max(0, nameLength - base.utf8.count))
        let identity = LogicalUnitInfo.stableIdentity(targetIQN: targetName, deviceName: "disk1")
        lu = LogicalUnitInfo(lun: UInt64(lunBits & 7), blockSize: flags & 0x01 != 0 ? 4096 : 512,
                             blockCount: blockCount, readOnly: flags & 0x02 != 0, writeCache: flags & 0x04 != 0,
                             serial: identity.serial, naaIdentifier: identity.naa, targetName: targetName,
                             targetPortGroup: UInt16(tag), relativeTargetPort: UInt16(tag) + 1,
                             maxTransferBlocks: maxTransfer,
                             physicalBlocksPerLogicalExponent: exponent & 0x0F)
        lu.thinProvisioned = exponent & 0x40 != 0  // UNMAP, GET LBA STATUS, SANITIZE BLOCK ERASE
        initialState = LogicalUnitState(stopped: flags & 0x08 != 0, descriptorSense: flags & 0x10 != 0,
                                        writeCacheOverride: flags & 0x80 != 0 ? (exponent & 0x80 != 0) : nil)
        let candidates: [UInt64] = [0, 1, 300, 0x3FFF, 0x4000, 0xFF_FFFF, 0x1_0000_0000, 0]
        let luns = (0..<8).filter { lunBits & (1 << $0) != 0 }.map { candidates[$0] }
        keepPowerOnAttention = exponent & 0x10 != 0
        context = CommandContext(lunList: luns, expectedDataTransferLength: UInt32(smallLimit) * 512,
                                 portalGroupTag: UInt16(tag) << 8 | UInt16(exponent))
    }
}

/// Checks that hold for every CDB whatever it contains (SPC-4, SBC-4).
func checkAction(_ action: SCSIAction, cdb: CDB, lu: LogicalUnitInfo, stateBefore: LogicalUnitState,
                 context: CommandContext, missingLUN: Bool) {
    fuzzCheck(action.transferLength(blockSize: lu.blockSize) >= 0, "negative transfer length for \(action)")
    let serviceAction = cdb[1] & 0x1F
    switch action {
    case .dataIn(let data):
        checkDataIn(data, cdb: cdb, serviceAction: serviceAction, lu: lu, context: context, missingLUN: missingLUN,
                    softwareWriteProtect: stateBefore.softwareWriteProtect)
    case .checkCondition(let sense):
        // SPC-4 4.5.3: fixed format is response code 70h with ADDITIONAL SENSE LENGTH n-7.
        let fixed = sense.fixedFormat()
        fuzzCheck(fixed.count >= 8 && fixed[0] & 0x7F == 0x70 && Int(fixed[7]) == fixed.count - 8,
                  "malformed fixed-format sense \(fixed)")
        // SPC-4 4.5.2: descriptor format is 72h, ADDITIONAL SENSE LENGTH covering the descriptors.
        let descriptor = sense.descriptorFormat()
        fuzzCheck(descriptor.count >= 8 && descriptor[0] == 0x72 && Int(descriptor[7]) == descriptor.count - 8,
                  "malformed descriptor-format sense \(descriptor)")
        if let pointer = sense.fieldPointer, pointer.isCDB {
            // The field pointer names a byte of the CDB.
            fuzzCheck(pointer.byte < 16 && (pointer.bit ?? 0) < 8, "field pointer \(pointer) outside the CDB")
        }
    case .read(let lba, let blocks, _), .write(let lba, let blocks, _), .writeAndVerify(let lba, let blocks, _),
         .verify(let lba, let blocks, _), .writeSame(let lba, let blocks, _, _),
         .compareAndWrite(let lba, let blocks, _), .orWrite(let lba, let blocks, _):
        fuzzCheck(!missingLUN, "a missing LUN may not access a medium: \(cdb) -> \(action)")
        // SBC-4 4.5: the whole range lies on the medium.
        let (end, overflow) = lba.addingReportingOverflow(UInt64(blocks))
        fuzzCheck(!overflow && end <= lu.blockCount, "\(action) runs past \(lu.blockCount) blocks (\(cdb))")
        fuzzCheck(!stateBefore.stopped, "\(action) on a stopped unit (SBC-4 4.20: NOT READY)")
        if case .write = action { fuzzCheck(!lu.readOnly, "write to a read-only LU (\(cdb))") }
        if case .writeAndVerify = action { fuzzCheck(!lu.readOnly, "write to a read-only LU (\(cdb))") }
        if case .write = action { fuzzCheck(!stateBefore.softwareWriteProtect, "write with SWP set (\(cdb))") }
        if case .writeAndVerify = action { fuzzCheck(!stateBefore.softwareWriteProtect, "write with SWP set (\(cdb))") }
        if case .orWrite = action {
            fuzzCheck(!lu.readOnly && !stateBefore.softwareWriteProtect, "ORWRITE to a write-protected LU (\(cdb))")
        }
        if case .compareAndWrite = action {
            fuzzCheck(!lu.readOnly && !stateBefore.softwareWriteProtect, "COMPARE AND WRITE to a write-protected LU (\(cdb))")
        }
        if case .writeSame = action {
            fuzzCheck(!lu.readOnly && !stateBefore.softwareWriteProtect, "WRITE SAME to a write-protected LU (\(cdb))")
        }
    case .synchronizeCache(let lba, let blocks):
        fuzzCheck(!missingLUN, "a missing LUN may not access a medium: \(cdb) -> \(action)")
        if cdb.opcode != 0x1B {
            let (end, overflow) = lba.addingReportingOverflow(UInt64(blocks))
            fuzzCheck(!overflow && end <= lu.blockCount, "\(action) runs past \(lu.blockCount) blocks (\(cdb))")
        }
    case .good:
        fuzzCheck(!missingLUN, "a missing LUN answers only INQUIRY, REQUEST SENSE and REPORT LUNS: \(cdb) -> GOOD")
    case .parameterData(let length):
        fuzzCheck(!missingLUN, "a missing LUN asks for no parameter list: \(cdb)")
        fuzzCheck(length >= 0, "parameter list length \(length)")
    case .lbaStatus(let lba, _):
        fuzzCheck(!missingLUN && lu.thinProvisioned && lba < lu.blockCount, "GET LBA STATUS \(cdb) -> \(action)")
    case .deallocate(let ranges):
        fuzzCheck(!missingLUN && lu.thinProvisioned, "deallocation on a fully provisioned LU: \(cdb)")
        for r in ranges {
            let (end, overflow) = r.lba.addingReportingOverflow(UInt64(r.blocks))
            fuzzCheck(!overflow && end <= lu.blockCount, "UNMAP range past the end (\(cdb))")
        }
    case .reservationConflict, .abortTasks:
        fuzzCheck(!missingLUN, "a missing LUN has no reservations: \(cdb) -> \(action)")
    case .extendedCopy:
        fuzzCheck(false, "EXTENDED COPY from decode (only its second phase copies): \(cdb)")
    case .sanitize(let plan, _):
        fuzzCheck(!missingLUN && cdb.opcode == 0x48, "a sanitize from \(cdb)")
        fuzzCheck(!lu.readOnly && !stateBefore.softwareWriteProtect, "SANITIZE of a write-protected LU (\(cdb))")
        if case let .overwrite(pattern, _, passes) = plan {
            fuzzCheck(!pattern.isEmpty && pattern.count <= lu.blockSize && (1...31).contains(passes),
                      "overwrite of \(pattern.count) bytes, \(passes) passes")
        } else {
            fuzzCheck(lu.thinProvisioned, "BLOCK ERASE of a fully provisioned LU")
        }
    }
}

/// SPC-4 4.2.5.6: never more data than the ALLOCATION LENGTH; the length fields describe the
/// data the device server has (whatever the allocation length cut off).
/// `softwareWriteProtect`: the Control mode page's SWP when the command came (MODE SENSE's WP
/// bit reports it for current values, SBC-4 6.5.1: the medium is write-protected then too).
func checkDataIn(_ data: [UInt8], cdb: CDB, serviceAction: UInt8, lu: LogicalUnitInfo,
                 context: CommandContext, missingLUN: Bool, softwareWriteProtect: Bool) {
    let allocation: Int
    switch cdb.opcode {
    case 0x12: // INQUIRY
        allocation = Int(cdb.u16(at: 3))
        if !data.isEmpty {
            fuzzCheck(data[0] == (missingLUN ? 0x7F : 0x00), "INQUIRY peripheral byte \(data[0])")
        }
        let evpd = cdb[1] & 0x01 != 0
        if evpd {
            if data.count >= 2 { fuzzCheck(data[1] == cdb[2], "VPD page \(data[1]) for a request of \(cdb[2])") }
            if data.count < allocation, data.count >= 4 {
                fuzzCheck(Int(data.bigEndian(at: 2, count: 2)) + 4 == data.count, "VPD PAGE LENGTH")
            }
        } else if data.count < allocation, data.count >= 5 {
            fuzzCheck(Int(data[4]) + 5 == data.count, "INQUIRY ADDITIONAL LENGTH")
        }
    case 0x03: // REQUEST SENSE
        allocation = Int(cdb[4])
    case 0x1A: // MODE SENSE(6)
        allocation = Int(cdb[4])
        if data.count < allocation, !data.isEmpty { fuzzCheck(Int(data[0]) + 1 == data.count, "MODE DATA LENGTH") }
        if data.count >= 3, cdb[2] >> 6 == 0 { // current values: WP is the LU's write protection
            fuzzCheck((data[2] & 0x80 != 0) == (lu.readOnly || softwareWriteProtect), "MODE SENSE WP bit")
        }
    case 0x5A: // MODE SENSE(10)
        allocation = Int(cdb.u16(at: 7))
        if data.count < allocation, data.count >= 2 {
            fuzzCheck(Int(data.bigEndian(at: 0, count: 2)) + 2 == data.count, "MODE DATA LENGTH")
        }
        if data.count >= 4, cdb[2] >> 6 == 0 {
            fuzzCheck((data[3] & 0x80 != 0) == (lu.readOnly || softwareWriteProtect), "MODE SENSE WP bit")
        }
    case 0xA0: // REPORT LUNS
        allocation = Int(cdb.u32(at: 6))
        if data.count >= 4 {
            let listLength = Int(data.bigEndian(at: 0, count: 4))
            fuzzCheck(listLength % 8 == 0 && listLength == 8 * Set(cdb[2] == 1 ? [] : context.lunList).count,
                      "LUN LIST LENGTH \(listLength) for \(context.lunList)")
            if data.count < allocation { fuzzCheck(listLength + 8 == data.count, "REPORT LUNS data length") }
        }
    case 0x25: // READ CAPACITY(10): fixed 8 bytes
        allocation = 8
        fuzzCheck(data.count == 8, "READ CAPACITY(10) returned \(data.count) bytes")
        let expected = lu.lastLBA > 0xFFFF_FFFE ? 0xFFFF_FFFF : lu.lastLBA
        fuzzCheck(data.bigEndian(at: 0, count: 4) == expected, "READ CAPACITY(10) RETURNED LBA")
        fuzzCheck(data.bigEndian(at: 4, count: 4) == UInt64(lu.blockSize), "READ CAPACITY(10) BLOCK LENGTH")
    case 0x9E where serviceAction == 0x10: // READ CAPACITY(16)
        allocation = Int(cdb.u32(at: 10))
        if data.count >= 8 { fuzzCheck(data.bigEndian(at: 0, count: 8) == lu.lastLBA, "READ CAPACITY(16) RETURNED LBA") }
        if data.count >= 12 {
            fuzzCheck(data.bigEndian(at: 8, count: 4) == UInt64(lu.blockSize), "READ CAPACITY(16) BLOCK LENGTH")
        }
    case 0x5E: // PERSISTENT RESERVE IN
        allocation = Int(cdb.u16(at: 7))
    case 0xA3 where serviceAction == 0x0A: // REPORT TARGET PORT GROUPS
        allocation = Int(cdb.u32(at: 6))
    case 0x84: // RECEIVE COPY RESULTS
        allocation = Int(cdb.u32(at: 10))
    case 0xA3 where serviceAction == 0x0C: // REPORT SUPPORTED OPERATION CODES
        allocation = Int(cdb.u32(at: 6))
        if cdb[2] & 0x07 == 0, data.count < allocation, data.count >= 4 {
            fuzzCheck(Int(data.bigEndian(at: 0, count: 4)) + 4 == data.count, "COMMAND DATA LENGTH")
        }
    default:
        return
    }
    fuzzCheck(data.count <= allocation, "\(data.count) bytes of data-in for ALLOCATION LENGTH \(allocation) (\(cdb))")
}
