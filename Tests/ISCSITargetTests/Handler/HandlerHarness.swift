// The one support file of the ConnectionHandler tests: it builds the fixture (catalog, LU,
// settings, registry, handler on an EmbeddedChannel) and plays a small initiator that writes
// PDUs into the channel and parses what the handler writes back. The tests talk only PDUs
// and bytes; when the way LUs are built changes, only `HandlerHarness.init` changes.
import DeviceServer
import ISCSI
import Logging
import NIOCore
import NIOEmbedded
import SCSI
import Storage
@testable import ISCSITarget
import XCTest

/// A ConnectionHandler on an EmbeddedChannel, with one target of one RAM-backed LU (LUN 0),
/// and the initiator side of the conversation.
final class HandlerHarness {
    static let targetName = "iqn.2024-01.test.targe:disk0"
    static let initiatorName = "iqn.2024-01.test.initiator:host1"
    static let blockSize = 512
    static let blockCount: UInt64 = 2048  // 1 MiB
    static let isid: UInt64 = 0x0002_3d00_0001
    static let localAddress = "192.0.2.1"

    let channel: EmbeddedChannel
    let registry: SessionRegistry
    let settings: ServerRuntimeSettings

    // The initiator's side of the sequence numbers and digests.
    var headerDigest = false
    var dataDigest = false
    /// The CmdSN the next non-immediate request carries.
    var cmdSN: UInt32 = 0x1000
    /// One past the last StatSN received.
    var expStatSN: UInt32 = 0
    var nextITT: UInt32 = 0x100
    var tsih: UInt16 = 0
    /// Bytes the handler wrote that do not make a whole PDU yet.
    private var pending = ByteBuffer()

    init(offer: TargetOffer = TargetOffer(), commandWindow: UInt32 = 128, loginTimeout: Int64 = 15,
         portals: [ListeningPortal] = [ListeningPortal(host: "0.0.0.0", port: 3260)]) throws {
        // --- fixture construction: keep it here (LogicalUnit is moving to another module) ---
        let device = try RAMDevice(name: "ram0", size: UInt64(Self.blockSize) * Self.blockCount)
        let info = LogicalUnitInfo(lun: 0, blockSize: Self.blockSize, blockCount: Self.blockCount,
                                   targetName: Self.targetName, deviceName: "ram0")
        let unit = LogicalUnit(info: info, device: device)
        let target = ExportedTarget(name: Self.targetName, alias: "disk0", units: [0: unit])
        let catalog = TargetCatalog(targets: [target])
        settings = ServerRuntimeSettings(portals: portals, offer: offer, nopInterval: 0,
                                         loginTimeout: loginTimeout, commandWindow: commandWindow)
        registry = SessionRegistry(catalog: catalog, limits: settings.limits,
                                   discoveryAuthentication: settings.discoveryAuthentication)
        var logger = Logger(label: "handler-test", factory: { _ in SwiftLogNoOpLogHandler() })
        if ProcessInfo.processInfo.environment["TARGE_TEST_LOG"] != nil {
            logger = Logger(label: "handler-test")
            logger.logLevel = .debug
        }
        let handler = ConnectionHandler(settings: settings, registry: registry, logger: logger)
        // ---
        channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(handler)
        channel.localAddress = try SocketAddress(ipAddress: Self.localAddress, port: 3260)
        let remote = try SocketAddress(ipAddress: "192.0.2.100", port: 51000)
        channel.remoteAddress = remote
        try channel.connect(to: remote).wait()
    }

    /// Ends the channel (cancels the handler's timers); call from tearDown.
    func finish() {
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }

    var isOpen: Bool { channel.isActive }

    func allocateITT() -> UInt32 {
        defer { nextITT &+= 1 }
        return nextITT
    }

    // MARK: wire

    /// The bytes of one initiator PDU, with digests as negotiated; `corrupt...` flips a digest.
    func wire(_ header: BasicHeaderSegment, data: [UInt8] = [], corruptHeaderDigest: Bool = false,
              corruptDataDigest: Bool = false) -> ByteBuffer {
        let serializer = PDUSerializer(headerDigest: headerDigest, dataDigest: dataDigest)
        var h = header
        h.dataSegmentLength = UInt32(data.count)
        var out = ByteBuffer()
        serializer.writeHeader(h, into: &out)
        if corruptHeaderDigest {
            precondition(headerDigest)
            let at = BasicHeaderSegment.size
            out.setInteger(out.getInteger(at: at, as: UInt32.self)! ^ 0x5a5a_5a5a, at: at)
        }
        if !data.isEmpty {
            let segment = ByteBuffer(bytes: data)
            out.writeBytes(data)
            let digestAt = out.writerIndex + paddedLength(data.count) - data.count
            serializer.writeTrailer(for: segment, into: &out)
            if corruptDataDigest {
                precondition(dataDigest)
                out.setInteger(out.getInteger(at: digestAt, as: UInt32.self)! ^ 0x0101_0101, at: digestAt)
            }
        }
        return out
    }

    /// Sends one PDU to the handler.
    func send(_ header: BasicHeaderSegment, data: [UInt8] = [], corruptHeaderDigest: Bool = false,
              corruptDataDigest: Bool = false) throws {
        try sendRaw(wire(header, data: data, corruptHeaderDigest: corruptHeaderDigest,
                         corruptDataDigest: corruptDataDigest))
    }

    func sendRaw(_ buffer: ByteBuffer) throws {
        try channel.writeInbound(buffer)
    }

    /// Every whole PDU the handler has written since the last call, parsed with the digests
    /// the initiator side currently uses (which must be right for every one of them).
    /// ExpStatSN follows the StatSNs of status-carrying PDUs.
    func receive(file: StaticString = #filePath, line: UInt = #line) throws -> [PDU] {
        // The loop's pending tasks run first, as they would before the peer saw anything:
        // responses completed outside a read batch are flushed by the handler's next task.
        channel.embeddedEventLoop.run()
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            var b = buffer
            pending.writeBuffer(&b)
        }
        let parser = PDUParser(headerDigest: headerDigest, dataDigest: dataDigest, maxDataSegmentLength: 1 << 24)
        var pdus: [PDU] = []
        while let pdu = try parser.parse(&pending) {
            // Copy the data out: the pending buffer is reused.
            var copy = PDU(header: pdu.header, additionalHeader: pdu.additionalHeader)
            copy.data = ByteBuffer(bytes: pdu.data.readableBytesView)
            pdus.append(copy)
            if pdu.carriesStatSN { expStatSN = pdu.header.word24 &+ 1 }
        }
        pending.discardReadBytes()
        return pdus
    }

    /// The bytes written that do not form a whole PDU (should be none).
    var leftoverBytes: Int { pending.readableBytes }

    /// Sends one PDU and returns what the handler answered.
    func exchange(_ header: BasicHeaderSegment, data: [UInt8] = []) throws -> [PDU] {
        try send(header, data: data)
        return try receive()
    }

    /// Sends one PDU and expects exactly one answer.
    func exchangeOne(_ header: BasicHeaderSegment, data: [UInt8] = [], file: StaticString = #filePath,
                     line: UInt = #line) throws -> PDU {
        let answers = try exchange(header, data: data)
        guard answers.count == 1 else {
            XCTFail("expected one PDU, got \(answers.map(\.summary))", file: file, line: line)
            throw HarnessError("expected one PDU, got \(answers.count)")
        }
        return answers[0]
    }

    // MARK: login

    /// The keys of a normal session's operational stage, defaults a test can override.
    static func operationalKeys(_ overrides: [(String, String)] = []) -> [(String, String)] {
        var keys: [(String, String)] = [
            ("HeaderDigest", "None"), ("DataDigest", "None"), ("InitialR2T", "Yes"), ("ImmediateData", "No"),
            ("MaxRecvDataSegmentLength", "8192"), ("MaxBurstLength", "8192"), ("FirstBurstLength", "8192"),
            ("MaxOutstandingR2T", "1"), ("ErrorRecoveryLevel", "0"), ("DefaultTime2Wait", "2"),
            ("DefaultTime2Retain", "20"),
        ]
        for (key, value) in overrides {
            if let i = keys.firstIndex(where: { $0.0 == key }) { keys[i].1 = value } else { keys.append((key, value)) }
        }
        return keys
    }

    /// One Login Request (immediate, CmdSN = the session's first).
    func loginRequest(csg: UInt8, nsg: UInt8, transit: Bool, keys: [(String, String)], itt: UInt32 = 0x7000) -> (BasicHeaderSegment, [UInt8]) {
        let header = InitiatorPDUBuilder.login(transit: transit, csg: csg, nsg: nsg, isid: Self.isid, tsih: tsih,
                                               itt: itt, cid: 1, cmdSN: cmdSN, expStatSN: expStatSN)
        return (header, TextParameters(keys).encoded())
    }

    /// Logs in to the target: a security stage with AuthMethod=None (when `viaSecurity`), then
    /// the operational stage with `keys`, to the full feature phase. Returns the login responses
    /// and switches the initiator side to the negotiated digests.
    @discardableResult
    func loginNormal(keys: [(String, String)] = operationalKeys(), viaSecurity: Bool = true,
                     file: StaticString = #filePath, line: UInt = #line) throws -> [PDU] {
        var responses: [PDU] = []
        let declared: [(String, String)] = [("InitiatorName", Self.initiatorName), ("SessionType", "Normal"),
                                            ("TargetName", Self.targetName)]
        if viaSecurity {
            let (h, data) = loginRequest(csg: 0, nsg: 1, transit: true, keys: declared + [("AuthMethod", "None")])
            let r = try exchangeOne(h, data: data, file: file, line: line)
            responses.append(r)
            guard r.loginStatus == (0, 0), r.header.transit, r.header.nextStage == 1 else {
                throw HarnessError("security stage failed: \(r.summary) \(r.keys)")
            }
        }
        let (h, data) = loginRequest(csg: 1, nsg: 3, transit: true, keys: (viaSecurity ? [] : declared) + keys)
        let r = try exchangeOne(h, data: data, file: file, line: line)
        responses.append(r)
        guard r.loginStatus == (0, 0), r.header.transit, r.header.nextStage == 3 else {
            throw HarnessError("operational stage failed: \(r.summary) \(r.keys)")
        }
        enteredFullFeature(r)
        return responses
    }

    /// A discovery session, straight to the operational stage.
    @discardableResult
    func loginDiscovery() throws -> PDU {
        let (h, data) = loginRequest(csg: 1, nsg: 3, transit: true,
                                     keys: [("InitiatorName", Self.initiatorName), ("SessionType", "Discovery"),
                                            ("HeaderDigest", "None"), ("DataDigest", "None"),
                                            ("MaxRecvDataSegmentLength", "8192")])
        let r = try exchangeOne(h, data: data)
        guard r.loginStatus == (0, 0), r.header.nextStage == 3 else { throw HarnessError("discovery login failed: \(r.summary)") }
        enteredFullFeature(r)
        return r
    }

    private func enteredFullFeature(_ final: PDU) {
        tsih = final.header.tsih
        let keys = final.keys
        headerDigest = keys["HeaderDigest"] == "CRC32C"
        dataDigest = keys["DataDigest"] == "CRC32C"
    }

    // MARK: SCSI

    /// Sends a SCSI Command; non-immediate ones take the next CmdSN. Returns its ITT.
    @discardableResult
    func sendCommand(_ cdb: [UInt8], read: Bool = false, write: Bool = false, edtl: Int, data: [UInt8] = [],
                     immediate: Bool = false, itt: UInt32? = nil, cmdSN explicitCmdSN: UInt32? = nil) throws -> UInt32 {
        let tag = itt ?? allocateITT()
        let sn = explicitCmdSN ?? cmdSN
        if explicitCmdSN == nil && !immediate { cmdSN &+= 1 }
        try send(InitiatorPDUBuilder.scsiCommand(itt: tag, cmdSN: sn, expStatSN: expStatSN, read: read, write: write,
                                                 edtl: UInt32(edtl), cdb: cdb, immediate: immediate), data: data)
        return tag
    }

    func sendDataOut(itt: UInt32, ttt: UInt32, dataSN: UInt32, offset: Int, data: [UInt8], final: Bool,
                     corruptDataDigest: Bool = false) throws {
        try send(InitiatorPDUBuilder.dataOut(itt: itt, ttt: ttt, dataSN: dataSN, offset: UInt32(offset),
                                             expStatSN: expStatSN, final: final),
                 data: data, corruptDataDigest: corruptDataDigest)
    }

    /// An immediate NOP-Out: its NOP-In reports ExpCmdSN = the next CmdSN and a window of
    /// `open` free places (MaxCmdSN = ExpCmdSN + open - 1).
    func assertWindow(open: UInt32, file: StaticString = #filePath, line: UInt = #line) throws {
        let itt = allocateITT()
        try send(InitiatorPDUBuilder.nopOut(itt: itt, cmdSN: cmdSN, expStatSN: expStatSN))
        let answers = try receive()
        guard answers.count == 1, let nop = answers.first, nop.opcode == .nopIn else {
            return XCTFail("NOP-Out got \(answers.map(\.summary))", file: file, line: line)
        }
        XCTAssertEqual(nop.header.initiatorTaskTag, itt, file: file, line: line)
        XCTAssertEqual(nop.expCmdSN, cmdSN, "ExpCmdSN", file: file, line: line)
        XCTAssertEqual(nop.maxCmdSN, cmdSN &+ open &- 1, "MaxCmdSN", file: file, line: line)
    }

    /// TEST UNIT READY; the first command of a new I_T nexus reports POWER ON (06/29/00).
    func expectPowerOnUnitAttention(file: StaticString = #filePath, line: UInt = #line) throws {
        try sendCommand(CDBs.testUnitReady(), edtl: 0)
        let r = try receive()
        XCTAssertEqual(r.count, 1, file: file, line: line)
        guard let response = r.first else { return }
        XCTAssertEqual(response.opcode, .scsiResponse, file: file, line: line)
        XCTAssertEqual(response.status, 0x02, file: file, line: line)
        XCTAssertEqual(response.sense?.key, 0x06, file: file, line: line)
        XCTAssertEqual(response.sense?.asc, 0x29, file: file, line: line)
    }

    /// WRITE(10) of `data` at `lba`, answering every R2T with one Data-Out per R2T (the
    /// session must use InitialR2T=Yes, ImmediateData=No). Returns the final response.
    @discardableResult
    func write(lba: UInt32, data: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> PDU {
        let blocks = data.count / Self.blockSize
        let itt = try sendCommand(CDBs.write10(lba: lba, blocks: UInt16(blocks)), write: true, edtl: data.count)
        var queue = try receive()
        while let next = queue.first {
            queue.removeFirst()
            switch next.opcode {
            case .readyToTransfer:
                let offset = Int(next.header.word40), length = Int(next.header.word44)
                try sendDataOut(itt: itt, ttt: next.header.targetTransferTag, dataSN: 0, offset: offset,
                                data: Array(data[offset..<offset + length]), final: true)
                queue += try receive()
            case .scsiResponse:
                XCTAssertTrue(queue.isEmpty, file: file, line: line)
                return next
            default:
                throw HarnessError("unexpected PDU during a write: \(next.summary)")
            }
        }
        throw HarnessError("write of \(data.count) bytes got no response")
    }

    /// READ(10) of `blocks` at `lba`: the Data-In bytes in offset order and the PDUs.
    func read(lba: UInt32, blocks: Int) throws -> (data: [UInt8], pdus: [PDU]) {
        try sendCommand(CDBs.read10(lba: lba, blocks: UInt16(blocks)), read: true, edtl: blocks * Self.blockSize)
        let pdus = try receive()
        var data = [UInt8](repeating: 0, count: blocks * Self.blockSize)
        for pdu in pdus where pdu.opcode == .dataIn {
            let offset = Int(pdu.header.word40)
            let bytes = pdu.dataBytes
            guard offset + bytes.count <= data.count else { throw HarnessError("Data-In beyond EDTL") }
            data.replaceSubrange(offset..<offset + bytes.count, with: bytes)
        }
        return (data, pdus)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A test case with a fresh harness per test.
class HandlerTestCase: XCTestCase {
    var harness: HandlerHarness!

    /// Builds the harness (tests that need other settings call it again first thing).
    func makeHarness(offer: TargetOffer = TargetOffer(), commandWindow: UInt32 = 128,
                     loginTimeout: Int64 = 15,
                     portals: [ListeningPortal] = [ListeningPortal(host: "0.0.0.0", port: 3260)]) throws {
        harness?.finish()
        harness = try HandlerHarness(offer: offer, commandWindow: commandWindow, loginTimeout: loginTimeout,
                                     portals: portals)
    }

    override func setUpWithError() throws {
        try makeHarness()
    }

    override func tearDown() {
        harness?.finish()
        harness = nil
        super.tearDown()
    }

    /// A recognizable pattern for `blocks` blocks.
    func pattern(blocks: Int, seed: UInt8) -> [UInt8] {
        (0..<blocks * HandlerHarness.blockSize).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed) &+ $0 >> 9) }
    }
}

// MARK: initiator PDUs (RFC 7143 section 11)

enum InitiatorPDUBuilder {
    static func login(transit: Bool, csg: UInt8, nsg: UInt8, isid: UInt64, tsih: UInt16, itt: UInt32, cid: UInt16,
                      cmdSN: UInt32, expStatSN: UInt32) -> BasicHeaderSegment {
        let flags: UInt8 = (transit ? 0x80 : 0) | (csg & 3) << 2 | (transit ? nsg & 3 : 0)
        return BasicHeaderSegment(opcodeByte: 0x40 | InitiatorOpcode.loginRequest.rawValue, flags: flags,
                                  byte2: 0, byte3: 0, lunOrSpecific: isid << 16 | UInt64(tsih),
                                  initiatorTaskTag: itt, word20: UInt32(cid) << 16, word24: cmdSN, word28: expStatSN)
    }

    static func scsiCommand(itt: UInt32, cmdSN: UInt32, expStatSN: UInt32, read: Bool, write: Bool, edtl: UInt32,
                            cdb: [UInt8], lun: UInt64 = 0, immediate: Bool = false) -> BasicHeaderSegment {
        var c = cdb + [UInt8](repeating: 0, count: max(0, 16 - cdb.count))
        c = Array(c.prefix(16))
        func word(_ at: Int) -> UInt32 {
            UInt32(c[at]) << 24 | UInt32(c[at + 1]) << 16 | UInt32(c[at + 2]) << 8 | UInt32(c[at + 3])
        }
        let flags: UInt8 = 0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 0x01  // F, R, W, SIMPLE
        return BasicHeaderSegment(opcodeByte: (immediate ? 0x40 : 0) | InitiatorOpcode.scsiCommand.rawValue,
                                  flags: flags, lunOrSpecific: lun, initiatorTaskTag: itt, word20: edtl,
                                  word24: cmdSN, word28: expStatSN, word32: word(0), word36: word(4),
                                  word40: word(8), word44: word(12))
    }

    static func dataOut(itt: UInt32, ttt: UInt32, dataSN: UInt32, offset: UInt32, expStatSN: UInt32, final: Bool,
                        lun: UInt64 = 0) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: InitiatorOpcode.dataOut.rawValue, flags: final ? 0x80 : 0, lunOrSpecific: lun,
                           initiatorTaskTag: itt, word20: ttt, word28: expStatSN, word36: dataSN, word40: offset)
    }

    static func taskManagement(function: TaskManagementFunction, itt: UInt32, referencedTaskTag: UInt32,
                               refCmdSN: UInt32, cmdSN: UInt32, expStatSN: UInt32, lun: UInt64 = 0,
                               immediate: Bool = true) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: (immediate ? 0x40 : 0) | InitiatorOpcode.taskManagementRequest.rawValue,
                           flags: 0x80 | function.rawValue, lunOrSpecific: lun, initiatorTaskTag: itt,
                           word20: referencedTaskTag, word24: cmdSN, word28: expStatSN, word32: refCmdSN)
    }

    static func logout(reason: UInt8, itt: UInt32, cid: UInt16, cmdSN: UInt32, expStatSN: UInt32,
                       immediate: Bool = false) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: (immediate ? 0x40 : 0) | InitiatorOpcode.logoutRequest.rawValue,
                           flags: 0x80 | reason, initiatorTaskTag: itt, word20: UInt32(cid) << 16,
                           word24: cmdSN, word28: expStatSN)
    }

    static func text(itt: UInt32, ttt: UInt32 = reservedTag, cmdSN: UInt32, expStatSN: UInt32,
                     immediate: Bool = false) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: (immediate ? 0x40 : 0) | InitiatorOpcode.textRequest.rawValue, flags: 0x80,
                           initiatorTaskTag: itt, word20: ttt, word24: cmdSN, word28: expStatSN)
    }

    static func nopOut(itt: UInt32, cmdSN: UInt32, expStatSN: UInt32, immediate: Bool = true) -> BasicHeaderSegment {
        BasicHeaderSegment(opcodeByte: (immediate ? 0x40 : 0) | InitiatorOpcode.nopOut.rawValue, flags: 0x80,
                           initiatorTaskTag: itt, word20: reservedTag, word24: cmdSN, word28: expStatSN)
    }
}

enum CDBs {
    static func testUnitReady() -> [UInt8] { [0x00, 0, 0, 0, 0, 0] }

    static func read10(lba: UInt32, blocks: UInt16) -> [UInt8] { rw10(0x28, lba: lba, blocks: blocks) }

    static func write10(lba: UInt32, blocks: UInt16) -> [UInt8] { rw10(0x2a, lba: lba, blocks: blocks) }

    private static func rw10(_ opcode: UInt8, lba: UInt32, blocks: UInt16) -> [UInt8] {
        [opcode, 0, UInt8(lba >> 24), UInt8(truncatingIfNeeded: lba >> 16), UInt8(truncatingIfNeeded: lba >> 8),
         UInt8(truncatingIfNeeded: lba), 0, UInt8(blocks >> 8), UInt8(truncatingIfNeeded: blocks), 0]
    }
}

// MARK: target PDUs, read

extension PDU {
    var opcode: TargetOpcode? { TargetOpcode(rawValue: header.rawOpcode) }
    var dataBytes: [UInt8] { Array(data.readableBytesView) }
    var keys: TextParameters { (try? TextParameters.parse(data)) ?? TextParameters() }

    var statSN: UInt32 { header.word24 }
    var expCmdSN: UInt32 { header.word28 }
    var maxCmdSN: UInt32 { header.word32 }

    /// Whether the PDU consumes a StatSN: responses, and Data-In with the S bit. R2T and
    /// NOP-In pings report the next StatSN without consuming it.
    var carriesStatSN: Bool {
        switch opcode {
        case .scsiResponse, .taskManagementResponse, .loginResponse, .textResponse, .logoutResponse, .reject,
             .asyncMessage:
            return true
        case .nopIn:
            return header.initiatorTaskTag != reservedTag
        case .dataIn:
            return header.flags & 0x01 != 0
        default:
            return false
        }
    }

    /// Login Response status class and detail.
    var loginStatus: (UInt8, UInt8) { (UInt8(header.word36 >> 24), UInt8(truncatingIfNeeded: header.word36 >> 16)) }
    /// SCSI status of a SCSI Response (or a Data-In with S).
    var status: UInt8 { header.byte3 }
    /// Response code of SCSI, Task Management and Logout Responses; reason of a Reject.
    var response: UInt8 { header.byte2 }
    var residualUnderflow: Bool { header.flags & 0x02 != 0 }
    var residualOverflow: Bool { header.flags & 0x04 != 0 }
    var residualCount: UInt32 { header.word44 }

    // R2T
    var r2tSN: UInt32 { header.word36 }
    var bufferOffset: UInt32 { header.word40 }
    var desiredLength: UInt32 { header.word44 }

    /// Sense key, ASC and ASCQ of a CHECK CONDITION (fixed or descriptor format).
    var sense: (key: UInt8, asc: UInt8, ascq: UInt8)? {
        let d = dataBytes
        guard d.count >= 2 + 8 else { return nil }
        let s = Array(d[2...])
        switch s[0] & 0x7f {
        case 0x70, 0x71:
            guard s.count >= 14 else { return nil }
            return (s[2] & 0x0f, s[12], s[13])
        case 0x72, 0x73:
            return (s[1] & 0x0f, s[2], s[3])
        default:
            return nil
        }
    }

    var summary: String {
        let name = opcode.map { "\($0)" } ?? "0x\(String(header.rawOpcode, radix: 16))"
        return "\(name)(itt 0x\(String(header.initiatorTaskTag, radix: 16)), flags 0x\(String(header.flags, radix: 16)), "
            + "b2 \(header.byte2), b3 \(header.byte3), dsl \(data.readableBytes))"
    }
}
