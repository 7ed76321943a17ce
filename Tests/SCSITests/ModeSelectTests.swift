import SCSI
import XCTest

/// MODE SELECT (6)/(10) with MODE SENSE round trips.
final class ModeSelectTests: XCTestCase {
    let a = Fixture.nexusA
    let b = Fixture.nexusB

    static func select6(_ list: [UInt8], pf: Bool = true, sp: Bool = false) -> [UInt8] {
        [0x15, (pf ? 0x10 : 0) | (sp ? 0x01 : 0), 0, 0, UInt8(list.count), 0]
    }

    static func select10(_ list: [UInt8], pf: Bool = true) -> [UInt8] {
        [0x55, pf ? 0x10 : 0, 0, 0, 0, 0, 0] + CDBBuilder.be(UInt64(list.count), bytes: 2) + [0]
    }

    /// The current page (header stripped) as MODE SENSE (6) with DBD returns it.
    func currentPage(_ code: UInt8, _ state: inout LogicalUnitState, pc: UInt8 = 0,
                     lu: LogicalUnitInfo = Fixture.lu()) -> [UInt8] {
        Array(dataIn(send(CDBBuilder.modeSense6(page: code, pc: pc, dbd: true), from: a, state: &state, lu: lu))[4...])
    }

    func select(_ list: [UInt8], _ state: inout LogicalUnitState, lu: LogicalUnitInfo = Fixture.lu()) -> SCSIAction {
        send(Self.select6(list), parameters: list, from: a, state: &state, lu: lu)
    }

    func assertParameterError(_ action: SCSIAction, byte: UInt16, bit: UInt8? = nil,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(action, .checkCondition(.invalidFieldInParameterList(byte: Int(byte), bit: bit.map(Int.init))),
                       file: file, line: line)
    }

    func testCDBChecks() {
        var state = Fixture.ready(nexuses: [a])
        let list: [UInt8] = [0, 0, 0, 0]
        XCTAssertEqual(decodeOnly(Self.select6(list), from: a, state: &state), .parameterData(length: 4))
        assertInvalidField(send(Self.select6(list, pf: false), from: a, state: &state), byte: 1, bit: 4)
        assertInvalidField(send(Self.select6(list, sp: true), from: a, state: &state), byte: 1, bit: 0)
        XCTAssertEqual(send([0x15, 0x10, 0, 0, 0, 0], from: a, state: &state), .good, "no parameter list")
        XCTAssertEqual(send([0x15, 0x10, 0, 0, 3, 0], from: a, state: &state), .checkCondition(.parameterListLengthError))
        XCTAssertEqual(send([0x55, 0x10, 0, 0, 0, 0, 0, 0, 7, 0], from: a, state: &state),
                       .checkCondition(.parameterListLengthError))
        XCTAssertEqual(SCSIAction.parameterData(length: 28).direction, .dataOut)
        XCTAssertEqual(SCSIAction.parameterData(length: 28).transferLength(blockSize: 512), 28)
    }

    func testWriteCacheRoundTrip() {
        var state = Fixture.ready(nexuses: [a])
        var caching = currentPage(0x08, &state)
        XCTAssertEqual(caching[2] & 0x04, 0x04)
        caching[2] &= ~0x04
        XCTAssertEqual(select([0, 0, 0, 0] + caching, &state), .good)
        XCTAssertEqual(currentPage(0x08, &state)[2] & 0x04, 0, "WCE off")
        XCTAssertEqual(state.writeCacheOverride, false)
        XCTAssertFalse(state.writeCacheEnabled(Fixture.lu()))
        // Write-through now: writes carry FUA.
        XCTAssertEqual(send(CDBBuilder.ten(0x2A, lba: 0, blocks: 1), from: a, state: &state), .write(lba: 0, blocks: 1, fua: true))
        XCTAssertEqual(send(CDBBuilder.six(0x0A, lba: 0, blocks: 1), from: a, state: &state), .write(lba: 0, blocks: 1, fua: true))
        // Default values are unchanged.
        XCTAssertEqual(currentPage(0x08, &state, pc: 2)[2] & 0x04, 0x04)

        caching[2] |= 0x04
        XCTAssertEqual(select([0, 0, 0, 0] + caching, &state), .good)
        XCTAssertNil(state.writeCacheOverride, "back to the configured value")
        XCTAssertEqual(send(CDBBuilder.ten(0x2A, lba: 0, blocks: 1), from: a, state: &state), .write(lba: 0, blocks: 1, fua: false))
    }

    func testWriteThroughLUNeedsNoForcedFUA() {
        let lu = Fixture.lu(writeCache: false)
        var state = Fixture.ready(nexuses: [a])
        XCTAssertEqual(send(CDBBuilder.ten(0x2A, lba: 0, blocks: 1), from: a, state: &state, lu: lu),
                       .write(lba: 0, blocks: 1, fua: false))
        var caching = currentPage(0x08, &state, lu: lu)
        caching[2] |= 0x04
        XCTAssertEqual(select([0, 0, 0, 0] + caching, &state, lu: lu), .good)
        XCTAssertEqual(state.writeCacheOverride, true)
    }

    func testDescriptorSenseRoundTrip() {
        var state = Fixture.ready(nexuses: [a])
        var control = currentPage(0x0A, &state)
        control[2] |= 0x04
        XCTAssertEqual(select([0, 0, 0, 0] + control, &state), .good)
        XCTAssertTrue(state.descriptorSense)
        XCTAssertEqual(currentPage(0x0A, &state), control)
    }

    func testSoftwareWriteProtectLikeLibiscsi() {
        // libiscsi set_swp: MODE SENSE(6) DBD=1 page 0Ah, set SWP, MODE SELECT(6) PF=1 with a
        // zeroed 4-byte header; then READ(10) works and WRITE(10) fails with DATA PROTECT.
        var state = Fixture.ready(nexuses: [a])
        var control = currentPage(0x0A, &state)
        control[4] |= 0x08
        XCTAssertEqual(select([0, 0, 0, 0] + control, &state), .good)
        XCTAssertTrue(state.softwareWriteProtect)
        let sense6 = dataIn(send(CDBBuilder.modeSense6(page: 0x0A, dbd: true), from: a, state: &state))
        XCTAssertEqual(sense6[2] & 0x80, 0x80, "WP reported")
        XCTAssertEqual(sense6[4 + 4] & 0x08, 0x08, "SWP reported")
        XCTAssertEqual(send(Probe.read10, from: a, state: &state), .read(lba: 1, blocks: 1, fua: false))
        for write in [Probe.write10, CDBBuilder.six(0x0A, lba: 0, blocks: 1), CDBBuilder.sixteen(0x8E, lba: 0, blocks: 1),
                      CDBBuilder.twelve(0xAA, lba: 0, blocks: 1)] {
            XCTAssertEqual(send(write, from: a, state: &state), .checkCondition(.softwareWriteProtected))
        }
        control[4] &= ~0x08
        XCTAssertEqual(select([0, 0, 0, 0] + control, &state), .good)
        XCTAssertEqual(send(Probe.write10, from: a, state: &state), .write(lba: 1, blocks: 1, fua: false))
        // A read-only LU keeps reporting WRITE PROTECTED first.
        var readOnly = Fixture.ready(LogicalUnitState(softwareWriteProtect: true), nexuses: [a])
        XCTAssertEqual(send(Probe.write10, from: a, state: &readOnly, lu: Fixture.lu(readOnly: true)),
                       .checkCondition(.writeProtected))
    }

    func testInformationalExceptions() {
        var state = Fixture.ready(nexuses: [a])
        var page = currentPage(0x1C, &state)
        XCTAssertEqual(Array(page[2...]), [0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        page[2] = 0x10        // EWASC=1, DEXCPT=0
        page[3] = 0x04        // MRIE 4
        page[4...7] = [0, 0, 0x0E, 0x10]
        XCTAssertEqual(select([0, 0, 0, 0] + page, &state), .good)
        XCTAssertEqual(currentPage(0x1C, &state), page)
        var bad = page
        bad[3] = 0x07         // reserved MRIE
        assertParameterError(select([0, 0, 0, 0] + bad, &state), byte: 7, bit: 3)
        bad = page
        bad[2] |= 0x04        // TEST is not changeable
        assertParameterError(select([0, 0, 0, 0] + bad, &state), byte: 6, bit: 2)
    }

    func testNonChangeableBitsAndPageErrors() {
        var state = Fixture.ready(nexuses: [a])
        var control = currentPage(0x0A, &state)
        control[3] = 0x00     // QAM 1 -> 0: not changeable
        assertParameterError(select([0, 0, 0, 0] + control, &state), byte: 4 + 3, bit: 4)

        var recovery = currentPage(0x01, &state)
        recovery[2] = 0x80
        assertParameterError(select([0, 0, 0, 0] + recovery, &state), byte: 6, bit: 6)

        var caching = currentPage(0x08, &state)
        caching[1] = 0x0A     // wrong page length
        assertParameterError(select([0, 0, 0, 0] + caching, &state), byte: 5)
        assertParameterError(select([0, 0, 0, 0, 0x02, 0x0E] + [UInt8](repeating: 0, count: 14), &state), byte: 4, bit: 5)
        assertParameterError(select([0, 0, 0, 0, 0x48, 0x00, 0x00, 0x12] + [UInt8](repeating: 0, count: 18), &state),
                             byte: 4, bit: 6)
        // A page cut short by the list length.
        let short = [0, 0, 0, 0] + Array(currentPage(0x08, &state).prefix(10))
        XCTAssertEqual(select(short, &state), .checkCondition(.parameterListLengthError))
        XCTAssertEqual(select([0, 0, 0, 0, 0x08], &state), .checkCondition(.parameterListLengthError))
        // PS is ignored (Linux clears it; it is reserved for MODE SELECT).
        var saved = currentPage(0x08, &state)
        saved[0] |= 0x80
        XCTAssertEqual(select([0, 0, 0, 0] + saved, &state), .good)
    }

    func testNothingChangesWhenALaterPageIsBad() {
        var state = Fixture.ready(nexuses: [a])
        var caching = currentPage(0x08, &state)
        caching[2] &= ~0x04
        var control = currentPage(0x0A, &state)
        control[3] = 0
        let before = state
        XCTAssertNotNil(sense(select([0, 0, 0, 0] + caching + control, &state)))
        XCTAssertEqual(state, before)
        // Several pages at once.
        control = currentPage(0x0A, &state)
        control[2] |= 0x04
        XCTAssertEqual(select([0, 0, 0, 0] + caching + control, &state), .good)
        XCTAssertEqual(state.writeCacheOverride, false)
        XCTAssertTrue(state.descriptorSense)
    }

    func testBlockDescriptors() {
        var state = Fixture.ready(nexuses: [a])
        let page = currentPage(0x08, &state)
        // Short descriptor: 2048 blocks of 512 (or 0 blocks: no change).
        let good: [UInt8] = [0, 0, 0, 8, 0, 0, 0x08, 0x00, 0, 0, 0x02, 0x00]
        XCTAssertEqual(select(good + page, &state), .good)
        XCTAssertEqual(select([0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x02, 0x00], &state), .good)
        assertParameterError(select([0, 0, 0, 8, 0, 0, 0x08, 0x00, 0, 0, 0x10, 0x00] + page, &state), byte: 9)
        assertParameterError(select([0, 0, 0, 8, 0, 0, 0x04, 0x00, 0, 0, 0x02, 0x00] + page, &state), byte: 4)
        assertParameterError(select([0, 0, 0, 4, 0, 0, 0, 0], &state), byte: 3)
        XCTAssertEqual(select([0, 0, 0, 8, 0, 0, 0x08, 0x00], &state), .checkCondition(.parameterListLengthError))
    }

    func testModeSelect10WithLongDescriptor() {
        var state = Fixture.ready(nexuses: [a])
        let page = currentPage(0x0A, &state)
        var list: [UInt8] = [0, 0, 0, 0, 0x01, 0, 0, 16]
        list += CDBBuilder.be(2048, bytes: 8) + [0, 0, 0, 0] + CDBBuilder.be(512, bytes: 4)
        list += page
        XCTAssertEqual(send(Self.select10(list), parameters: list, from: a, state: &state), .good)
        list[22] = 0x10    // BLOCK LENGTH (bytes 20-23) 4096
        XCTAssertEqual(send(Self.select10(list), parameters: list, from: a, state: &state),
                       .checkCondition(.invalidFieldInParameterList(byte: 20)))
        // A long descriptor needs LONGLBA.
        var noLong = list
        noLong[4] = 0
        XCTAssertEqual(send(Self.select10(noLong), parameters: noLong, from: a, state: &state),
                       .checkCondition(.invalidFieldInParameterList(byte: 6)))
        // Plain MODE SELECT(10) header, no descriptor.
        let plain: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0] + page
        XCTAssertEqual(send(Self.select10(plain), parameters: plain, from: a, state: &state), .good)
    }

    func testTruncatedDataOut() {
        // The expected data transfer length cut the list: the transport hands over what came.
        var state = Fixture.ready(nexuses: [a])
        let page = currentPage(0x08, &state)
        let list = [0, 0, 0, 0] + page
        let cdb = Self.select6(list)
        XCTAssertEqual(SCSICommandDecoder.complete(CDB(cdb), parameters: Array(list.prefix(12)), lu: Fixture.lu(),
                                                   state: &state, context: Fixture.context(a)),
                       .checkCondition(.parameterListLengthError))
    }

    func testChangePostsModeParametersChangedToOtherNexuses() {
        var state = Fixture.ready(nexuses: [a, b])
        let unchanged = [0, 0, 0, 0] + currentPage(0x08, &state)
        XCTAssertEqual(select(unchanged, &state), .good)
        XCTAssertEqual(state.pendingUnitAttentions(for: b), [], "nothing changed, nothing to report")
        var caching = currentPage(0x08, &state)
        caching[2] &= ~0x04
        XCTAssertEqual(select([0, 0, 0, 0] + caching, &state), .good)
        XCTAssertEqual(state.pendingUnitAttentions(for: a), [])
        XCTAssertEqual(state.pendingUnitAttentions(for: b), [.modeParametersChanged])
    }

    func testResetRestoresDefaults() {
        var state = Fixture.ready(nexuses: [a])
        var control = currentPage(0x0A, &state)
        control[2] |= 0x04
        control[4] |= 0x08
        XCTAssertEqual(select([0, 0, 0, 0] + control, &state), .good)
        state.logicalUnitReset(by: a)
        XCTAssertFalse(state.descriptorSense)
        XCTAssertFalse(state.softwareWriteProtect)
    }
}
