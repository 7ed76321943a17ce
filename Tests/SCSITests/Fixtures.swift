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
}

/// Decodes `bytes` against `lu` with a fresh (or given) state.
func decode(_ bytes: [UInt8], lu: LogicalUnitInfo = Fixture.lu(),
            state: inout LogicalUnitState, context: CommandContext = Fixture.context) -> SCSIAction {
    SCSICommandDecoder.decode(CDB(bytes), lu: lu, state: &state, context: context)
}

func decode(_ bytes: [UInt8], lu: LogicalUnitInfo = Fixture.lu(),
            context: CommandContext = Fixture.context) -> SCSIAction {
    var state = LogicalUnitState()
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
