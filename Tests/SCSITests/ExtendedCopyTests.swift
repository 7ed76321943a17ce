@testable import SCSI
import XCTest

/// EXTENDED COPY (LID1) parameter lists: lengths, limits, descriptor types in the order SPC-4
/// and libiscsi expect; list identifiers per I_T nexus; RECEIVE COPY RESULTS and VPD 8Fh.
final class ExtendedCopyTests: XCTestCase {
    private let lu = Fixture.lu()

    private func cdb(length: UInt32) -> [UInt8] {
        [0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0, UInt8(length >> 24), UInt8(length >> 16 & 0xff),
         UInt8(length >> 8 & 0xff), UInt8(length & 0xff), 0, 0]
    }

    private var designator: [UInt8] {
        DeviceIdentification.logicalUnitDesignators(lu).first.map { [0x01, 0x03, 0, UInt8($0.value.count)] + $0.value }!
    }

    private func target(type: UInt8 = 0xE4) -> [UInt8] {
        var d = [UInt8](repeating: 0, count: 32)
        d[0] = type
        for (i, b) in designator.enumerated() { d[4 + i] = b }
        d[30] = 0x02
        return d
    }

    private func segment(type: UInt8 = 0x02, blocks: UInt16 = 8, from: UInt64 = 0, to: UInt64 = 100) -> [UInt8] {
        var s: [UInt8] = [type, 0, 0, 0x18, 0, 0, 0, 0, 0, 0, UInt8(blocks >> 8), UInt8(blocks & 0xff)]
        for v in [from, to] { for i in 0..<8 { s.append(UInt8(v >> (56 - 8 * UInt64(i)) & 0xff)) } }
        return s
    }

    private func list(id: UInt8 = 1, usage: UInt8 = 0, targets: [[UInt8]], segments: [[UInt8]]) -> [UInt8] {
        let t = targets.joined().count, s = segments.joined().count
        return [id, usage << 3, UInt8(t >> 8), UInt8(t & 0xff), 0, 0, 0, 0,
                UInt8(s >> 24), UInt8(s >> 16 & 0xff), UInt8(s >> 8 & 0xff), UInt8(s & 0xff), 0, 0, 0, 0]
            + targets.joined() + segments.joined()
    }

    private func complete(_ parameters: [UInt8], state: inout LogicalUnitState,
                          nexus: NexusIdentity = Fixture.nexusA) -> SCSIAction {
        SCSICommandDecoder.complete(CDB(cdb(length: UInt32(parameters.count))), parameters: parameters, lu: lu,
                                    state: &state, context: Fixture.context(nexus))
    }

    func testZeroLengthIsGoodAndLID4IsRefused() {
        XCTAssertEqual(decode(cdb(length: 0)), .good)
        XCTAssertEqual(decode(cdb(length: 76)), .parameterData(length: 76))
        var lid4 = cdb(length: 76)
        lid4[1] = 0x01
        XCTAssertEqual(sense(decode(lid4)), .invalidFieldInCDB(byte: 1, bit: 4))
    }

    func testAGoodListParses() {
        var state = Fixture.ready(nexuses: [Fixture.nexusA])
        let action = complete(list(targets: [target()], segments: [segment()]), state: &state)
        guard case let .extendedCopy(request) = action else { return XCTFail("\(action)") }
        XCTAssertEqual(request.listID, 1)
        XCTAssertEqual(request.targets.count, 1)
        XCTAssertTrue(ExtendedCopyCommand.designates(request.targets[0].designator, lu))
        XCTAssertEqual(request.targets[0].blockLength, 512)
        XCTAssertEqual(request.segments, [.init(source: 0, destination: 0, blocks: 8, destinationCount: false,
                                                sourceLBA: 0, destinationLBA: 100)])
        var other = lu
        other.naaIdentifier = [UInt8](repeating: 0x66, count: 16)
        XCTAssertFalse(ExtendedCopyCommand.designates(request.targets[0].designator, other))
    }

    func testLengthErrorsComeBeforeDescriptorChecks() {
        let good = list(targets: [target()], segments: [segment()])
        for cut in [15, 47, 75] {
            XCTAssertEqual(ExtendedCopyCommand.parse(Array(good.prefix(cut))), .failure(.parameterListLengthError), "\(cut)")
        }
        // Too many targets and longer than MAXIMUM DESCRIPTOR LIST LENGTH: the length wins.
        let many = ExtendedCopyCommand.maximumTargetDescriptors + 1
        let padding = (ExtendedCopyCommand.maximumDescriptorListLength - many * 32) / 28 + 1
        let long = list(targets: Array(repeating: target(), count: many), segments: Array(repeating: segment(), count: padding))
        XCTAssertEqual(ExtendedCopyCommand.parse(long), .failure(.parameterListLengthError))
    }

    func testDescriptorLimitsAndTypes() {
        let tooManyTargets = list(targets: Array(repeating: target(), count: ExtendedCopyCommand.maximumTargetDescriptors + 1),
                                  segments: [segment()])
        XCTAssertEqual(ExtendedCopyCommand.parse(tooManyTargets), .failure(.tooManyTargetDescriptors))
        let tooManySegments = list(targets: [target()],
                                   segments: Array(repeating: segment(), count: ExtendedCopyCommand.maximumSegmentDescriptors + 1))
        XCTAssertEqual(ExtendedCopyCommand.parse(tooManySegments), .failure(.tooManySegmentDescriptors))
        XCTAssertEqual(ExtendedCopyCommand.parse(list(targets: [target(type: 0xE0)], segments: [segment()])),
                       .failure(.unsupportedTargetDescriptorType))
        // A stream-to-stream segment (03h, 20 bytes) is refused by its type, before its length.
        let stream: [UInt8] = [0x03, 0, 0, 0x10] + [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(ExtendedCopyCommand.parse(list(targets: [target()], segments: [stream])),
                       .failure(.unsupportedSegmentDescriptorType))
        var inline = list(targets: [target()], segments: [segment()]) + [0, 0, 0, 0]
        inline[15] = 4
        XCTAssertEqual(ExtendedCopyCommand.parse(inline), .failure(.inlineDataLengthExceeded))
        XCTAssertEqual(ExtendedCopyCommand.parse(list(usage: 1, targets: [target()], segments: [segment()])),
                       .failure(.invalidFieldInParameterList(byte: 1, bit: 4)), "LIST ID USAGE 01b is reserved")
    }

    func testListIdentifiersArePerNexusAndHeld() {
        var state = Fixture.ready(nexuses: [Fixture.nexusA, Fixture.nexusB])
        let parameters = list(id: 9, targets: [target()], segments: [segment()])
        guard case let .extendedCopy(request) = complete(parameters, state: &state) else { return XCTFail() }
        XCTAssertEqual(sense(complete(parameters, state: &state)), .operationInProgress, "list 9 is running")
        guard case .extendedCopy = complete(parameters, state: &state, nexus: Fixture.nexusB) else {
            return XCTFail("another nexus may use the same list identifier")
        }
        let statusCDB: [UInt8] = [0x84, 0x00, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0]
        XCTAssertEqual(dataIn(decode(statusCDB, state: &state, context: Fixture.context(Fixture.nexusA))),
                       [0, 0, 0, 8, 0x10, 0, 0, 0, 0, 0, 0, 0], "running in the foreground")
        state.finishCopy(request, for: Fixture.nexusA, segmentsProcessed: 1, bytesCopied: 4096, failed: false)
        XCTAssertEqual(dataIn(decode(statusCDB, state: &state, context: Fixture.context(Fixture.nexusA))),
                       [0, 0, 0, 8, 0x00, 0, 1, 0, 0, 0, 0x10, 0x00], "done: one segment, 4096 bytes")
        state.nexusLost(Fixture.nexusA)
        _ = decode([0x03, 0, 0, 0, 18, 0], state: &state, context: Fixture.context(Fixture.nexusA))
        XCTAssertEqual(sense(decode(statusCDB, state: &state, context: Fixture.context(Fixture.nexusA))),
                       .invalidFieldInCDB(byte: 2), "held status goes with the nexus")
        // DISCARD keeps nothing once the copy ends.
        var discard = Fixture.ready(nexuses: [Fixture.nexusA])
        guard case let .extendedCopy(r) = complete(list(id: 3, usage: 2, targets: [target()], segments: [segment()]),
                                                   state: &discard) else { return XCTFail() }
        discard.finishCopy(r, for: Fixture.nexusA, segmentsProcessed: 1, bytesCopied: 4096, failed: false)
        XCTAssertNil(discard.copyManager.status(of: 3, for: Fixture.nexusA))
    }

    func testOperatingParametersAndThirdPartyCopyPage() {
        let data = dataIn(decode([0x84, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0]))
        XCTAssertEqual(data.count, 46)
        XCTAssertEqual(data.be32(at: 0), 42, "AVAILABLE DATA: 40 + the descriptor codes")
        XCTAssertEqual(Int(data.be16(at: 8)), ExtendedCopyCommand.maximumTargetDescriptors)
        XCTAssertEqual(Int(data.be16(at: 10)), ExtendedCopyCommand.maximumSegmentDescriptors)
        XCTAssertEqual(Int(data.be32(at: 12)), ExtendedCopyCommand.maximumDescriptorListLength)
        XCTAssertEqual(data.be32(at: 16), 0xFFFF * 512)
        XCTAssertEqual(Array(data[43...]), [2, 0x02, 0xE4])
        let page = dataIn(decode([0x12, 0x01, 0x8F, 0, 255, 0]))
        XCTAssertEqual(Array(page.prefix(4)), [0x00, 0x8F, 0, 12])
        XCTAssertEqual(Array(page[4...]), [0x00, 0x01, 0x00, 0x08, 7, 0x83, 1, 0x00, 0x84, 2, 0x00, 0x03])
        XCTAssertTrue(dataIn(decode([0x12, 0x01, 0x00, 0, 255, 0])).contains(0x8F), "listed as supported")
        XCTAssertEqual(dataIn(decode([0x12, 0, 0, 0, 36, 0]))[5] & 0x08, 0x08, "3PC")
    }

    /// A copy reads and writes the other LUs as this nexus would: another nexus's reservation,
    /// a sanitize or a stopped unit make them unreachable.
    func testCopyTargetsAnswerAsToReadsAndWrites() {
        var state = Fixture.ready(nexuses: [Fixture.nexusA, Fixture.nexusB])
        XCTAssertNil(state.copyRefusal(for: Fixture.nexusA, writing: true))
        XCTAssertEqual(decode([0x16, 0, 0, 0, 0, 0], state: &state, context: Fixture.context(Fixture.nexusB)), .good)
        XCTAssertEqual(state.copyRefusal(for: Fixture.nexusA, writing: false), .copyTargetNotReachable,
                       "B's RESERVE(6) keeps A's copy out")
        XCTAssertNil(state.copyRefusal(for: Fixture.nexusB, writing: true), "the holder may copy")
        var sanitizing = Fixture.ready(nexuses: [Fixture.nexusA])
        sanitizing.sanitize = .running(progress: 0)
        XCTAssertEqual(sanitizing.copyRefusal(for: Fixture.nexusA, writing: false), .copyTargetNotReachable)
        var protected = Fixture.ready(nexuses: [Fixture.nexusA])
        protected.softwareWriteProtect = true
        XCTAssertNil(protected.copyRefusal(for: Fixture.nexusA, writing: false), "SWP still reads")
        XCTAssertEqual(protected.copyRefusal(for: Fixture.nexusA, writing: true)?.asc, 0x27)
    }
}
