@testable import SCSI
import XCTest

/// SANITIZE: CDB and parameter list checks, the running state (NOT READY with progress for
/// everything but INQUIRY, REPORT LUNS and REQUEST SENSE, ahead of unit attentions), failure
/// mode, and BLOCK ERASE offered only by thin LUs.
final class SanitizeTests: XCTestCase {
    private var thin: LogicalUnitInfo {
        var lu = Fixture.lu()
        lu.thinProvisioned = true
        return lu
    }

    private func cdb(_ serviceAction: UInt8, immediate: Bool = false, length: UInt16 = 0) -> [UInt8] {
        [0x48, serviceAction | (immediate ? 0x80 : 0), 0, 0, 0, 0, 0, UInt8(length >> 8), UInt8(length & 0xff), 0]
    }

    private func overwriteList(passes: UInt8 = 1, invert: Bool = false, pattern: [UInt8]) -> [UInt8] {
        [passes | (invert ? 0x80 : 0), 0, UInt8(pattern.count >> 8), UInt8(pattern.count & 0xff)] + pattern
    }

    private func complete(_ cdbBytes: [UInt8], _ parameters: [UInt8], lu: LogicalUnitInfo = Fixture.lu(),
                          state: inout LogicalUnitState) -> SCSIAction {
        SCSICommandDecoder.complete(CDB(cdbBytes), parameters: parameters, lu: lu, state: &state, context: Fixture.context)
    }

    func testOverwriteParameterListBounds() {
        XCTAssertEqual(decode(cdb(0x01, length: 516)), .parameterData(length: 516))
        for length: UInt16 in [0, 1, 4, 517] {
            XCTAssertEqual(sense(decode(cdb(0x01, length: length))), .invalidFieldInCDB(byte: 7), "length \(length)")
        }
        var state = Fixture.ready()
        let list = overwriteList(pattern: [UInt8](repeating: 0xAA, count: 512))
        XCTAssertEqual(complete(cdb(0x01, length: 516), list, state: &state),
                       .sanitize(.overwrite(pattern: [UInt8](repeating: 0xAA, count: 512), invert: false, passes: 1),
                                 immediate: false))
        XCTAssertEqual(state.sanitize, .running(progress: 0))

        var fresh = Fixture.ready()
        XCTAssertEqual(sense(complete(cdb(0x01, length: 516), overwriteList(passes: 0, pattern: [UInt8](repeating: 1, count: 512)),
                                      state: &fresh)), .invalidFieldInParameterList(byte: 0, bit: 4), "OWCOUNT 0")
        XCTAssertEqual(sense(complete(cdb(0x01, length: 8), [0x01, 0, 0, 0, 1, 2, 3, 4], state: &fresh)),
                       .invalidFieldInParameterList(byte: 2), "pattern length 0")
        XCTAssertEqual(sense(complete(cdb(0x01, length: 516), [0x01, 0, 0x02, 0x04] + [UInt8](repeating: 0, count: 512),
                                      state: &fresh)), .invalidFieldInParameterList(byte: 2), "pattern longer than a block")
        XCTAssertEqual(sense(complete(cdb(0x01, length: 8), [0x21, 0, 0, 4, 1, 2, 3, 4], state: &fresh)),
                       .invalidFieldInParameterList(byte: 0, bit: 6), "TEST")
        XCTAssertEqual(sense(complete(cdb(0x01, length: 516), Array(list.prefix(300)), state: &fresh)),
                       .parameterListLengthError, "less data than the CDB says")
        XCTAssertEqual(fresh.sanitize, .idle, "nothing started")
    }

    func testReservedFieldsAndServiceActions() {
        var reserved = cdb(0x02)
        reserved[1] |= 0x40
        XCTAssertEqual(sense(decode(reserved, lu: thin)), .invalidFieldInCDB(byte: 1, bit: 6))
        for byte in 2...6 {
            var c = cdb(0x02)
            c[byte] = UInt8(byte)
            XCTAssertEqual(sense(decode(c, lu: thin)), .invalidFieldInCDB(byte: byte))
        }
        for sa: UInt8 in [0x00, 0x03, 0x04, 0x1E] {
            XCTAssertEqual(sense(decode(cdb(sa))), .invalidFieldInCDB(byte: 1, bit: 4), "service action \(sa)")
        }
        XCTAssertEqual(sense(decode(cdb(0x02))), .invalidFieldInCDB(byte: 1, bit: 4), "no BLOCK ERASE on a full LU")
        XCTAssertEqual(sense(decode(cdb(0x02, length: 8), lu: thin)), .invalidFieldInCDB(byte: 7))
        XCTAssertEqual(sense(decode(cdb(0x1F, length: 8))), .invalidFieldInCDB(byte: 7))
        XCTAssertEqual(decode(cdb(0x1F)), .good, "EXIT FAILURE MODE outside failure mode does nothing")
        XCTAssertEqual(sense(decode(cdb(0x01, length: 516), lu: Fixture.lu(readOnly: true))), .writeProtected)
    }

    func testWhileRunningOnlyInquiryReportLUNsAndRequestSenseAnswer() {
        var state = Fixture.ready(nexuses: [Fixture.nexusA, Fixture.nexusB])
        XCTAssertEqual(decode(cdb(0x02, immediate: true), lu: thin, state: &state, context: Fixture.context(Fixture.nexusA)),
                       .sanitize(.blockErase, immediate: true))
        state.sanitizeProgressed(done: 1, of: 4)
        state.logicalUnitReset(by: Fixture.nexusA)  // queues a unit attention for both nexuses
        let busy = SenseData.sanitizeInProgress(0x4000)
        for probe in [Probe.testUnitReady, Probe.read10, Probe.write10, Probe.modeSense6, cdb(0x1F)] {
            XCTAssertEqual(sense(decode(probe, lu: thin, state: &state, context: Fixture.context(Fixture.nexusB))), busy,
                           "\(probe)")
        }
        XCTAssertEqual(Array(busy.fixedFormat()[15...17]), [0x80, 0x40, 0x00], "progress indication, a quarter done")
        XCTAssertNotNil(dataIn(decode(CDBBuilder.inquiry(), lu: thin, state: &state, context: Fixture.context(Fixture.nexusB))).first)
        let requestSense = dataIn(decode([0x03, 0, 0, 0, 18, 0], lu: thin, state: &state, context: Fixture.context(Fixture.nexusB)))
        XCTAssertEqual(requestSense, busy.fixedFormat(), "REQUEST SENSE reports the progress")
        state.sanitizeFinished(succeeded: true)
        XCTAssertEqual(sense(decode(Probe.testUnitReady, lu: thin, state: &state, context: Fixture.context(Fixture.nexusB))),
                       .busDeviceResetOccurred, "the unit attention waited for the sanitize")
        XCTAssertEqual(decode(Probe.testUnitReady, lu: thin, state: &state, context: Fixture.context(Fixture.nexusB)), .good)
    }

    func testFailureModeRefusesTheMediumUntilExit() {
        var state = Fixture.ready()
        state.sanitize = .running(progress: 0)
        state.sanitizeFinished(succeeded: false)
        XCTAssertEqual(sense(decode(Probe.read10, state: &state)), .sanitizeCommandFailed)
        XCTAssertNotNil(dataIn(decode(CDBBuilder.inquiry(), state: &state)).first)
        XCTAssertEqual(decode(cdb(0x1F), state: &state), .good)
        XCTAssertEqual(state.sanitize, .idle)
        guard case .read = decode(Probe.read10, state: &state) else { return XCTFail("the medium is back") }
    }

    func testBlockEraseOfferedOnlyByThinLUs() {
        let rsoc: [UInt8] = [0xA3, 0x0C, 0x00, 0, 0, 0, 0, 0, 0x10, 0x00, 0, 0]
        func listed(_ lu: LogicalUnitInfo) -> Set<UInt16> {
            let data = dataIn(decode(rsoc, lu: lu))
            var found = Set<UInt16>()
            var at = 4
            while at + 8 <= data.count {
                if data[at] == 0x48 { found.insert(data.be16(at: at + 2)) }
                at += 8
            }
            return found
        }
        XCTAssertEqual(listed(thin), [0x01, 0x02, 0x1F])
        XCTAssertEqual(listed(Fixture.lu()), [0x01, 0x1F])
        XCTAssertEqual(dataIn(decode(CDBBuilder.inquiry(evpd: true, page: 0xB1), lu: thin))[7] & 0xF0, 0x40, "WABEREQ 01b")
        XCTAssertEqual(dataIn(decode(CDBBuilder.inquiry(evpd: true, page: 0xB1)))[7] & 0xF0, 0x00)
    }

    func testOverwriteBlocksAndInversion() {
        XCTAssertEqual(SanitizePlan.block(pattern: [1, 2, 3], invert: false, passes: 1, pass: 0, blockSize: 8),
                       [1, 2, 3, 1, 2, 3, 1, 2])
        // Three passes alternating: inverted, plain, inverted ... the last pass is plain.
        XCTAssertEqual(SanitizePlan.block(pattern: [0x0F], invert: true, passes: 3, pass: 2, blockSize: 2), [0x0F, 0x0F])
        XCTAssertEqual(SanitizePlan.block(pattern: [0x0F], invert: true, passes: 3, pass: 1, blockSize: 2), [0xF0, 0xF0])
        XCTAssertEqual(SanitizePlan.block(pattern: [0x0F], invert: true, passes: 3, pass: 0, blockSize: 2), [0x0F, 0x0F])
    }

    /// A parameter list that arrives after a sanitize began is refused with its progress.
    func testParameterListsArrivingDuringASanitizeAreRefused() {
        var state = Fixture.ready()
        state.sanitize = .running(progress: 0x1234)
        let modeSelect = SCSICommandDecoder.complete(CDB([0x15, 0x10, 0, 0, 12, 0]), parameters: [UInt8](repeating: 0, count: 12),
                                                     lu: Fixture.lu(), state: &state, context: Fixture.context)
        XCTAssertEqual(sense(modeSelect), .sanitizeInProgress(0x1234))
    }

    func testProgressNeverOverflows() {
        var state = LogicalUnitState()
        state.sanitize = .running(progress: 0)
        state.sanitizeProgressed(done: 1 << 62, of: 1 << 63)
        XCTAssertEqual(state.sanitize, .running(progress: 0x8000), "half of 2^63 bytes")
        state.sanitizeProgressed(done: 1 << 63, of: 1 << 63)
        XCTAssertEqual(state.sanitize, .running(progress: 0xFFFF), "done, but still running until it ends")
    }
}
