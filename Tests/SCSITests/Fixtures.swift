import SCSI
import XCTest

/// Shared LU fixtures and helpers for the SCSI decoder tests.
enum Fixture {
    static let targetName = "iqn.2024-01.org.targe:disk1"

    static func lu(blockCount: UInt64 = 2048, blockSize: Int = 512, readOnly: Bool = false,
                   writeCache: Bool = true, maxTransferBlocks: UInt32? = nil) -> LogicalUnitInfo {
        let identity = LogicalUnitInfo.stableIdentity(targetIQN: targetName, deviceName: "disk1")
        return LogicalUnitInfo(lun: 0, blockSize: blockSize, blockCount: blockCount, readOnly: readOnly,
                               writeCache: writeCache, serial: identity.serial, naaIdentifier: identity.naa,
                               targetName: targetName, maxTransferBlocks: maxTransferBlocks)
    }

    static let context = CommandContext(lunList: [0, 1, 300], expectedDataTransferLength: 0, portalGroupTag: 1)

    /// Two I_T nexuses of different initiators on the same target port.
    static let nexusA = NexusIdentity(initiatorName: "iqn.2024-01.org.example:host-a", isid: 0x8000_1234_0000,
                                      targetName: targetName, portalGroupTag: 1, relativeTargetPort: 1)
    static let nexusB = NexusIdentity(initiatorName: "iqn.2024-01.org.example:host-b", isid: 0x8000_5678_0000,
                                      targetName: targetName, portalGroupTag: 1, relativeTargetPort: 1)

    static func context(_ nexus: NexusIdentity) -> CommandContext {
        CommandContext(lunList: [0, 1, 300], expectedDataTransferLength: 0, portalGroupTag: 1, nexus: nexus)
    }

    /// `state` once `nexuses` have each sent a command (REQUEST SENSE, which takes the power-on
    /// unit attention every new I_T nexus finds).
    static func ready(_ state: LogicalUnitState = LogicalUnitState(),
                      nexuses: [NexusIdentity] = [context.nexus]) -> LogicalUnitState {
        var state = state
        for nexus in nexuses {
            _ = SCSICommandDecoder.decode(CDB([0x03, 0, 0, 0, 18, 0]), lu: lu(), state: &state, context: Fixture.context(nexus))
        }
        return state
    }
}

/// Decodes `bytes` against `lu` with a fresh (or given) state.
func decode(_ bytes: [UInt8], lu: LogicalUnitInfo = Fixture.lu(),
            state: inout LogicalUnitState, context: CommandContext = Fixture.context) -> SCSIAction {
    SCSICommandDecoder.decode(CDB(bytes), lu: lu, state: &state, context: context)
}

func decode(_ bytes: [UInt8], lu: LogicalUnitInfo = Fixture.lu(),
            context: CommandContext = Fixture.context) -> SCSIAction {
    var state = Fixture.ready(nexuses: [context.nexus])
    return decode(bytes, lu: lu, state: &state, context: context)
}

/// The Data-In bytes of an action, failing the test for anything else.
func dataIn(_ action: SCSIAction, file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
    guard case .dataIn(let data) = action else {
        XCTFail("expected data-in, got \(action)", file: file, line: line)
        return []
    }
    return data
}

/// The sense data of an action, failing the test for anything else.
func sense(_ action: SCSIAction, file: StaticString = #filePath, line: UInt = #line) -> SenseData? {
    guard case .checkCondition(let sense) = action else {
        XCTFail("expected CHECK CONDITION, got \(action)", file: file, line: line)
        return nil
    }
    return sense
}

func assertInvalidField(_ action: SCSIAction, byte: UInt16, bit: UInt8? = nil,
                        file: StaticString = #filePath, line: UInt = #line) {
    guard let sense = sense(action, file: file, line: line) else { return }
    XCTAssertEqual(sense.key, .illegalRequest, file: file, line: line)
    XCTAssertEqual(sense.asc, 0x24, file: file, line: line)
    XCTAssertEqual(sense.ascq, 0x00, file: file, line: line)
    XCTAssertEqual(sense.fieldPointer, SenseData.FieldPointer(isCDB: true, byte: byte, bit: bit),
                   file: file, line: line)
}

/// CDB builders (big-endian fields).
enum CDBBuilder {
    static func be(_ value: UInt64, bytes: Int) -> [UInt8] {
        (0..<bytes).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * (bytes - 1 - $0))) }
    }

    static func ten(_ opcode: UInt8, flags: UInt8 = 0, lba: UInt32, blocks: UInt16, control: UInt8 = 0) -> [UInt8] {
        [opcode, flags] + be(UInt64(lba), bytes: 4) + [0] + be(UInt64(blocks), bytes: 2) + [control]
    }

    static func twelve(_ opcode: UInt8, flags: UInt8 = 0, lba: UInt32, blocks: UInt32, control: UInt8 = 0) -> [UInt8] {
        [opcode, flags] + be(UInt64(lba), bytes: 4) + be(UInt64(blocks), bytes: 4) + [0, control]
    }

    static func sixteen(_ opcode: UInt8, flags: UInt8 = 0, lba: UInt64, blocks: UInt32, control: UInt8 = 0) -> [UInt8] {
        [opcode, flags] + be(lba, bytes: 8) + be(UInt64(blocks), bytes: 4) + [0, control]
    }

    static func six(_ opcode: UInt8, lba: UInt32, blocks: UInt8, control: UInt8 = 0) -> [UInt8] {
        [opcode] + be(UInt64(lba & 0x1F_FFFF), bytes: 3) + [blocks, control]
    }

    static func inquiry(evpd: Bool = false, page: UInt8 = 0, allocation: UInt16 = 255, flags: UInt8 = 0) -> [UInt8] {
        [0x12, (evpd ? 1 : 0) | flags, page] + be(UInt64(allocation), bytes: 2) + [0]
    }

    static func readCapacity16(allocation: UInt32 = 32, lba: UInt64 = 0, pmi: Bool = false) -> [UInt8] {
        [0x9E, 0x10] + be(lba, bytes: 8) + be(UInt64(allocation), bytes: 4) + [pmi ? 1 : 0, 0]
    }

    static func reportLUNs(select: UInt8 = 0, allocation: UInt32 = 512) -> [UInt8] {
        [0xA0, 0, select, 0, 0, 0] + be(UInt64(allocation), bytes: 4) + [0, 0]
    }

    static func modeSense6(page: UInt8, pc: UInt8 = 0, subpage: UInt8 = 0, dbd: Bool = false,
                           allocation: UInt8 = 255) -> [UInt8] {
        [0x1A, dbd ? 0x08 : 0, pc << 6 | page, subpage, allocation, 0]
    }

    static func modeSense10(page: UInt8, pc: UInt8 = 0, subpage: UInt8 = 0, dbd: Bool = false,
                            llbaa: Bool = false, allocation: UInt16 = 1024) -> [UInt8] {
        [0x5A, (dbd ? 0x08 : 0) | (llbaa ? 0x10 : 0), pc << 6 | page, subpage, 0, 0, 0]
            + be(UInt64(allocation), bytes: 2) + [0]
    }

    static func rsoc(options: UInt8, rctd: Bool = false, opcode: UInt8 = 0, serviceAction: UInt16 = 0,
                     allocation: UInt32 = 65535) -> [UInt8] {
        [0xA3, 0x0C, (rctd ? 0x80 : 0) | options, opcode] + be(UInt64(serviceAction), bytes: 2)
            + be(UInt64(allocation), bytes: 4) + [0, 0]
    }
}

/// Sends one command from `nexus`; a command that asks for a parameter list is completed with
/// (at most the asked-for prefix of) `parameters`, as the transport would.
func send(_ cdb: [UInt8], parameters: [UInt8] = [], from nexus: NexusIdentity, state: inout LogicalUnitState,
          lu: LogicalUnitInfo = Fixture.lu()) -> SCSIAction {
    let context = Fixture.context(nexus)
    let first = SCSICommandDecoder.decode(CDB(cdb), lu: lu, state: &state, context: context)
    guard case .parameterData(let length) = first else { return first }
    return SCSICommandDecoder.complete(CDB(cdb), parameters: Array(parameters.prefix(length)), lu: lu,
                                       state: &state, context: context)
}

/// The first phase only (no parameter list is sent).
func decodeOnly(_ cdb: [UInt8], from nexus: NexusIdentity, state: inout LogicalUnitState,
                lu: LogicalUnitInfo = Fixture.lu()) -> SCSIAction {
    SCSICommandDecoder.decode(CDB(cdb), lu: lu, state: &state, context: Fixture.context(nexus))
}

/// PERSISTENT RESERVE IN/OUT builders.
enum PR {
    // Service actions.
    static let register: UInt8 = 0, reserve: UInt8 = 1, release: UInt8 = 2, clear: UInt8 = 3
    static let preempt: UInt8 = 4, preemptAndAbort: UInt8 = 5, registerAndIgnore: UInt8 = 6
    // Types.
    static let writeExclusive: UInt8 = 1, exclusiveAccess: UInt8 = 3
    static let writeExclusiveRegistrantsOnly: UInt8 = 5, exclusiveAccessRegistrantsOnly: UInt8 = 6
    static let writeExclusiveAllRegistrants: UInt8 = 7, exclusiveAccessAllRegistrants: UInt8 = 8
    static let allTypes: [UInt8] = [1, 3, 5, 6, 7, 8]

    static func outCDB(_ serviceAction: UInt8, type: UInt8 = 0, scope: UInt8 = 0, length: UInt32 = 24) -> [UInt8] {
        [0x5F, serviceAction, scope << 4 | type, 0, 0] + CDBBuilder.be(UInt64(length), bytes: 4) + [0]
    }

    static func list(key: UInt64 = 0, serviceActionKey: UInt64 = 0, flags: UInt8 = 0) -> [UInt8] {
        CDBBuilder.be(key, bytes: 8) + CDBBuilder.be(serviceActionKey, bytes: 8) + [0, 0, 0, 0, flags, 0, 0, 0]
    }

    static func inCDB(_ serviceAction: UInt8, allocation: UInt16 = 4096) -> [UInt8] {
        [0x5E, serviceAction, 0, 0, 0, 0, 0] + CDBBuilder.be(UInt64(allocation), bytes: 2) + [0]
    }

    @discardableResult
    static func out(_ serviceAction: UInt8, type: UInt8 = 0, key: UInt64 = 0, serviceActionKey: UInt64 = 0,
                    flags: UInt8 = 0, from nexus: NexusIdentity, state: inout LogicalUnitState) -> SCSIAction {
        send(outCDB(serviceAction, type: type), parameters: list(key: key, serviceActionKey: serviceActionKey, flags: flags),
             from: nexus, state: &state)
    }

    /// READ KEYS: (PRGENERATION, keys).
    static func readKeys(_ nexus: NexusIdentity, _ state: inout LogicalUnitState) -> (UInt32, [UInt64]) {
        let data = dataIn(send(inCDB(0), from: nexus, state: &state))
        guard data.count >= 8 else { return (0, []) }
        let generation = UInt32(CDBBuilder.value(data[0..<4]))
        let keys = stride(from: 8, to: data.count, by: 8).map { CDBBuilder.value(data[$0..<($0 + 8)]) }
        return (generation, keys)
    }

    /// READ RESERVATION: (key, type), or nil when there is no reservation.
    static func readReservation(_ nexus: NexusIdentity, _ state: inout LogicalUnitState) -> (UInt64, UInt8)? {
        let data = dataIn(send(inCDB(1), from: nexus, state: &state))
        guard data.count >= 8, CDBBuilder.value(data[4..<8]) == 16, data.count >= 24 else { return nil }
        return (CDBBuilder.value(data[8..<16]), data[21])
    }
}

extension CDBBuilder {
    static func value<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// Test unit ready, read and write CDBs used by the reservation tests.
enum Probe {
    static let testUnitReady: [UInt8] = [0x00, 0, 0, 0, 0, 0]
    static let read10 = CDBBuilder.ten(0x28, lba: 1, blocks: 1)
    static let write10 = CDBBuilder.ten(0x2A, lba: 1, blocks: 1)
    static let modeSense6 = CDBBuilder.modeSense6(page: 0x3F)
}

func isGood(_ action: SCSIAction) -> Bool {
    switch action {
    case .good, .dataIn, .read, .write, .writeAndVerify, .verify, .synchronizeCache, .abortTasks, .writeSame, .compareAndWrite, .orWrite, .deallocate, .lbaStatus, .extendedCopy, .sanitize: return true
    case .checkCondition, .reservationConflict, .parameterData: return false
    }
}
