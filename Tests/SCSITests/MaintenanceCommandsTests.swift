import SCSI
import XCTest

/// REPORT TARGET PORT GROUPS, READ DEFECT DATA, PRE-FETCH, PREVENT ALLOW MEDIUM REMOVAL, and
/// REPORT SUPPORTED OPERATION CODES for the new commands.
final class MaintenanceCommandsTests: XCTestCase {
    let a = Fixture.nexusA
    let b = Fixture.nexusB

    static func rtpg(format: UInt8 = 0, allocation: UInt32 = 1024) -> [UInt8] {
        [0xA3, format << 5 | 0x0A, 0, 0, 0, 0] + CDBBuilder.be(UInt64(allocation), bytes: 4) + [0, 0]
    }

    func testReportTargetPortGroups() {
        var lu = Fixture.lu()
        lu.targetPortGroup = 7
        lu.relativeTargetPort = 3
        let data = dataIn(decode(Self.rtpg(), lu: lu))
        XCTAssertEqual(data, [0, 0, 0, 12, 0x80, 0x01, 0, 7, 0, 0, 0, 1, 0, 0, 0, 3])
        XCTAssertEqual(dataIn(decode(Self.rtpg(allocation: 4), lu: lu)), [0, 0, 0, 12], "full size from 4 bytes")
        let extended = dataIn(decode(Self.rtpg(format: 1), lu: lu))
        XCTAssertEqual(Array(extended[0..<8]), [0, 0, 0, 16, 0x10, 0, 0, 0])
        XCTAssertEqual(Array(extended[8...]), Array(data[4...]))
        assertInvalidField(decode(Self.rtpg(format: 2), lu: lu), byte: 1, bit: 7)
    }

    func testTargetPortGroupMatchesVPD83() {
        let lu = Fixture.lu()
        let vpd = dataIn(decode(CDBBuilder.inquiry(evpd: true, page: 0x83, allocation: 1024), lu: lu))
        var groups: [UInt16] = []
        var ports: [UInt16] = []
        var offset = 4
        while offset + 4 <= vpd.count {
            let type = vpd[offset + 1] & 0x0F
            let length = Int(vpd[offset + 3])
            let value = UInt16(vpd[offset + 6]) << 8 | UInt16(vpd[offset + 7])
            if type == 5 { groups.append(value) }
            if type == 4 { ports.append(value) }
            offset += 4 + length
        }
        let rtpg = dataIn(decode(Self.rtpg(), lu: lu))
        XCTAssertEqual(groups, [UInt16(rtpg[6]) << 8 | UInt16(rtpg[7])])
        XCTAssertEqual(ports, [UInt16(rtpg[14]) << 8 | UInt16(rtpg[15])])
        XCTAssertEqual(dataIn(decode(CDBBuilder.inquiry()))[5] & 0x30, 0x10, "TPGS=01b")
    }

    func testReadDefectData() {
        XCTAssertEqual(dataIn(decode([0x37, 0, 0, 0, 0, 0, 0, 0, 32, 0])), [0, 0, 0, 0])
        XCTAssertEqual(dataIn(decode([0x37, 0, 0x1D, 0, 0, 0, 0, 0, 32, 0])), [0, 0x1D, 0, 0], "PLISTV, GLISTV, format 101b")
        XCTAssertEqual(dataIn(decode([0x37, 0, 0x08, 0, 0, 0, 0, 0, 2, 0])), [0, 0x08])
        assertInvalidField(decode([0x37, 0, 0x07, 0, 0, 0, 0, 0, 32, 0]), byte: 2, bit: 2)
        XCTAssertEqual(dataIn(decode([0xB7, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0])), [0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(dataIn(decode([0xB7, 0x13, 0, 0, 0, 5, 0, 0, 0, 32, 0, 0])), [0, 0x13, 0, 0, 0, 0, 0, 0])
        var stopped = Fixture.ready(LogicalUnitState(stopped: true))
        XCTAssertEqual(decode([0x37, 0, 0, 0, 0, 0, 0, 0, 32, 0], state: &stopped),
                       .checkCondition(.notReadyInitializingCommandRequired))
    }

    func testPreFetch() {
        // libiscsi Prefetch10/16: every range on the medium is GOOD (not CONDITION MET).
        for blocks: UInt16 in [0, 1, 256] {
            XCTAssertEqual(decode(CDBBuilder.ten(0x34, lba: 0, blocks: blocks)), .good)
        }
        XCTAssertEqual(decode(CDBBuilder.ten(0x34, lba: 2048 - 256, blocks: 256)), .good)
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x90, lba: 2047, blocks: 1)), .good)
        XCTAssertEqual(decode(CDBBuilder.ten(0x34, flags: 0x02, lba: 0, blocks: 1)), .good, "IMMED")
        XCTAssertEqual(decode([0x34, 0x02, 0, 0, 0, 0, 0x03, 0, 1, 0]), .good, "GROUP NUMBER ignored")
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x90, lba: 0, blocks: 1, control: 0) .enumerated().map { $0.offset == 14 ? 3 : $0.element }), .good)
        for (lba, blocks) in [(UInt32(2048 - 255), UInt16(256)), (2049, 0), (0x8000_0000, 1), (0xFFFF_FFFF, 1), (2047, 2)] {
            XCTAssertEqual(decode(CDBBuilder.ten(0x34, lba: lba, blocks: blocks)), .checkCondition(.lbaOutOfRange))
        }
        for lba: UInt64 in [2048, 1 << 63, .max] {
            XCTAssertEqual(decode(CDBBuilder.sixteen(0x90, lba: lba, blocks: 1)), .checkCondition(.lbaOutOfRange))
        }
        // No length limit from MAXIMUM TRANSFER LENGTH.
        XCTAssertEqual(decode(CDBBuilder.sixteen(0x90, lba: 0, blocks: 2048), lu: Fixture.lu(maxTransferBlocks: 8)), .good)
        var stopped = Fixture.ready(LogicalUnitState(stopped: true))
        XCTAssertEqual(decode(CDBBuilder.ten(0x34, lba: 0, blocks: 1), state: &stopped),
                       .checkCondition(.notReadyInitializingCommandRequired))
    }

    func testPreventAllowPerNexus() {
        var state = Fixture.ready(nexuses: [a, b])
        let eject: [UInt8] = [0x1B, 0, 0, 0, 0x02, 0]
        XCTAssertEqual(send([0x1E, 0, 0, 0, 1, 0], from: a, state: &state), .good)
        XCTAssertTrue(state.mediumRemovalPrevented)
        XCTAssertEqual(send(eject, from: a, state: &state), .checkCondition(.mediumRemovalPrevented))
        XCTAssertEqual(send(eject, from: b, state: &state), .checkCondition(.mediumRemovalPrevented),
                       "seen from every nexus")
        XCTAssertEqual(send(Probe.testUnitReady, from: a, state: &state), .good)
        XCTAssertFalse(state.stopped)
        // A stop without LOEJ is not a removal; a load (START=1) is always fine.
        XCTAssertEqual(send([0x1B, 0, 0, 0, 0x03, 0], from: b, state: &state), .good)
        XCTAssertEqual(send([0x1B, 0, 0, 0, 0x04, 0], from: b, state: &state), .good)
        XCTAssertTrue(state.stopped)
        XCTAssertEqual(send([0x1B, 0, 0, 0, 0x01, 0], from: b, state: &state), .good)
        // B's ALLOW does not undo A's PREVENT; A's does.
        XCTAssertEqual(send([0x1E, 0, 0, 0, 0, 0], from: b, state: &state), .good)
        XCTAssertTrue(state.mediumRemovalPrevented)
        XCTAssertEqual(send([0x1E, 0, 0, 0, 0, 0], from: a, state: &state), .good)
        XCTAssertFalse(state.mediumRemovalPrevented)
        XCTAssertEqual(send(eject, from: a, state: &state), .synchronizeCache(lba: 0, blocks: 0))
        XCTAssertEqual(send([0x1B, 0, 0, 0, 0x03, 0], from: a, state: &state), .good)
        // Obsolete values are accepted without effect.
        XCTAssertEqual(send([0x1E, 0, 0, 0, 2, 0], from: a, state: &state), .good)
        XCTAssertFalse(state.mediumRemovalPrevented)
    }

    func testPreventClearedByNexusLossAndResets() {
        var state = Fixture.ready(nexuses: [a, b])
        _ = send([0x1E, 0, 0, 0, 1, 0], from: a, state: &state)
        state.nexusLost(b)
        XCTAssertTrue(state.mediumRemovalPrevented)
        state.nexusLost(a)
        XCTAssertFalse(state.mediumRemovalPrevented)
        state = Fixture.ready(nexuses: [a, b])
        _ = send([0x1E, 0, 0, 0, 1, 0], from: a, state: &state)
        state.logicalUnitReset(by: b)
        XCTAssertFalse(state.mediumRemovalPrevented)
        _ = send([0x03, 0, 0, 0, 18, 0], from: a, state: &state)
        _ = send([0x1E, 0, 0, 0, 1, 0], from: a, state: &state)
        state.targetReset()
        XCTAssertFalse(state.mediumRemovalPrevented)
    }

    func testSupportedOperationCodesListEveryNewCommand() {
        let data = dataIn(decode(CDBBuilder.rsoc(options: 0)))
        var listed: Set<[UInt16]> = []
        for offset in stride(from: 4, to: data.count, by: 8) {
            let serviceAction = UInt16(data[offset + 2]) << 8 | UInt16(data[offset + 3])
            listed.insert([UInt16(data[offset]), data[offset + 5] & 0x01 != 0 ? serviceAction : 0xFFFF])
        }
        let expected: [[UInt16]] = [
            [0x15, 0xFFFF], [0x16, 0xFFFF], [0x17, 0xFFFF], [0x34, 0xFFFF], [0x37, 0xFFFF], [0x55, 0xFFFF],
            [0x56, 0xFFFF], [0x57, 0xFFFF], [0x90, 0xFFFF], [0xB7, 0xFFFF], [0x1E, 0xFFFF],
            [0x5E, 0], [0x5E, 1], [0x5E, 2], [0x5E, 3],
            [0x5F, 0], [0x5F, 1], [0x5F, 2], [0x5F, 3], [0x5F, 4], [0x5F, 5], [0x5F, 6],
            [0xA3, 0x0A], [0xA3, 0x0C],
        ]
        for entry in expected { XCTAssertTrue(listed.contains(entry), "\(entry) listed") }
        XCTAssertFalse(listed.contains([0x5F, 7]), "REGISTER AND MOVE is not supported")
        XCTAssertFalse(listed.contains([0x5E, 4]))
    }

    /// The one-command usage data of every listed command: as long as the all-commands CDB
    /// size, opcode first, service action in its field, CONTROL byte NACA/LINK examined; and
    /// the exact masks of some of the new commands.
    func testUsageDataOfNewCommands() {
        let data = dataIn(decode(CDBBuilder.rsoc(options: 0)))
        for offset in stride(from: 4, to: data.count, by: 8) {
            let opcode = data[offset]
            let servactv = data[offset + 5] & 0x01 != 0
            let serviceAction = UInt16(data[offset + 2]) << 8 | UInt16(data[offset + 3])
            let one = dataIn(decode(CDBBuilder.rsoc(options: servactv ? 2 : 1, opcode: opcode, serviceAction: serviceAction)))
            let usage = Array(one[4...])
            XCTAssertEqual(usage.count, Int(data[offset + 6]) << 8 | Int(data[offset + 7]))
            XCTAssertEqual(usage[0], opcode)
            XCTAssertEqual(usage.last.map { $0 & 0x07 }, 0x07, "NACA and LINK are examined (\(opcode))")
            if servactv {
                XCTAssertEqual(UInt16(usage[1] & 0x1F), serviceAction, "service action in its field (\(opcode))")
            }
        }
        let prefetch = dataIn(decode(CDBBuilder.rsoc(options: 1, opcode: 0x34)))
        XCTAssertEqual(Array(prefetch[4...]), [0x34, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0xFF, 0xFF, 0x07])
        let prout = dataIn(decode(CDBBuilder.rsoc(options: 2, opcode: 0x5F, serviceAction: 1)))
        XCTAssertEqual(Array(prout[4...]), [0x5F, 0x01, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x07])
        let register = dataIn(decode(CDBBuilder.rsoc(options: 2, opcode: 0x5F, serviceAction: 0)))
        XCTAssertEqual(register[4 + 2], 0, "REGISTER ignores SCOPE and TYPE")
        let rtpg = dataIn(decode(CDBBuilder.rsoc(options: 2, opcode: 0xA3, serviceAction: 0x0A)))
        XCTAssertEqual(Array(rtpg[4...]), [0xA3, 0xEA, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07])
        assertInvalidField(decode(CDBBuilder.rsoc(options: 1, opcode: 0x5E)), byte: 2, bit: 2)
    }
}
