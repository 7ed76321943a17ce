import DeviceServer
import FuzzSupport
import ISCSI
import ISCSITarget
import Logging
import NIOCore
import NIOEmbedded
import SCSI
import Storage

/// A whole connection, the way the server runs it (`ISCSIServer.serveConnection` on an
/// `EmbeddedChannel`), against a 1 MiB RAM LU: a login, then a sequence of PDUs built from
/// the input, fed as a byte stream cut into reads the input chooses.
///
/// Input: byte 0 the login (bit 0 header digest, bit 1 data digest, bit 2 ImmediateData,
/// bit 3 InitialR2T, bit 4 small bursts and segments, bit 5 via the security stage); then
/// records, each a kind byte and its fields (see `Step`). Sequence numbers follow the session
/// unless a step perturbs them, so that most inputs reach commands, R2Ts, Data-Out, aborts and
/// logout rather than dying at the first wrong CmdSN.
///
/// Checks after each step: everything the target wrote frames as PDUs with the negotiated
/// digests; every StatSN-consuming answer takes exactly the next StatSN; every answer to a
/// task names a task the initiator started; a closed connection stays closed.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConnection(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var reader = FuzzReader(Array(fuzzBytes(data, size)))
    guard let session = FuzzSession(login: reader.byte()) else { return 0 }
    defer { session.finish() }
    guard session.login() else { return 0 }
    var steps = 0
    while !reader.isAtEnd && steps < 64 && session.isOpen {
        steps += 1
        session.perform(Step(&reader), cut: Int(reader.byte()))
    }
    return 0
}

/// One thing the initiator does.
enum Step {
    case command(cdb: [UInt8], read: Bool, write: Bool, edtl: UInt32, immediateData: Int, immediate: Bool)
    case dataOut(task: Int, offset: UInt32, length: Int, final: Bool, useLastTTT: Bool)
    case nopOut(length: Int)
    case taskManagement(function: UInt8, task: Int)
    case text(sendTargets: Bool)
    case logout(reason: UInt8)
    case raw(header: [UInt8], length: Int)
    case time(seconds: Int64)
    case cmdSNSkew(UInt32)

    init(_ r: inout FuzzReader) {
        switch r.byte() % 9 {
        case 0:
            let flags = r.byte()
            let cdb = Step.cdb(r.byte(), &r)
            self = .command(cdb: cdb, read: flags & 1 != 0, write: flags & 2 != 0, edtl: UInt32(r.u16()) * 2,
                            immediateData: Int(r.byte()) * 32, immediate: flags & 4 != 0)
        case 1:
            let flags = r.byte()
            self = .dataOut(task: Int(r.byte() % 4), offset: UInt32(r.u16()), length: Int(r.u16() % 9000),
                            final: flags & 1 != 0, useLastTTT: flags & 2 == 0)
        case 2: self = .nopOut(length: Int(r.byte()))
        case 3: self = .taskManagement(function: r.byte() % 9, task: Int(r.byte() % 4))
        case 4: self = .text(sendTargets: r.byte() & 1 == 0)
        case 5: self = .logout(reason: r.byte() % 3)
        case 6: self = .raw(header: r.bytes(48), length: Int(r.u16() % 2048))
        case 7: self = .time(seconds: Int64(r.byte() % 40))
        default: self = .cmdSNSkew(UInt32(r.byte() % 4))
        }
    }

    /// A CDB mostly of the commands a disk gets, on the LU's 2048 blocks (1 MiB).
    static func cdb(_ pick: UInt8, _ r: inout FuzzReader) -> [UInt8] {
        let lba = UInt32(r.u16() % 2100)
        let blocks = UInt16(r.byte() % 40)
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
        let ten = be32(lba) + [0, UInt8(blocks >> 8), UInt8(truncatingIfNeeded: blocks), 0]
        switch pick % 8 {
        case 0: return [0x28, 0] + ten                        // READ(10)
        case 1: return [0x2A, pick & 0x08] + ten              // WRITE(10), FUA sometimes
        case 2: return [0x00, 0, 0, 0, 0, 0]                  // TEST UNIT READY
        case 3: return [0x89, 0, 0, 0, 0, 0] + be32(lba) + [0, 0, 0, UInt8(blocks % 2), 0, 0]  // COMPARE AND WRITE
        case 4: return [0x41, 0] + ten                        // WRITE SAME(10)
        case 5: return [0x2F, 0] + ten                        // VERIFY(10)
        case 6: return [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0]      // SYNCHRONIZE CACHE(10)
        default: return r.bytes(16)                           // anything
        }
    }
}

/// The connection under test and the initiator's view of it.
final class FuzzSession {
    static let targetName = "iqn.2026-12.org.targe.fuzz:ram"
    static let initiatorName = "iqn.2026-12.org.targe.fuzz:initiator"

    let channel = EmbeddedChannel()
    let loginFlags: UInt8
    var headerDigest = false
    var dataDigest = false
    var cmdSN: UInt32 = 0x10
    var expStatSN: UInt32 = 0
    var nextITT: UInt32 = 0x100
    /// ITTs of the commands sent, newest last (Data-Out and aborts pick among the last four).
    var tasks: [UInt32] = []
    var lastTTT: UInt32 = 0xFFFF_FFFF
    var pending = ByteBuffer()
    var closed = false
    /// The first StatSN is the target's choice; every one after it is checked.
    var statSNKnown = false
    /// Raw headers carry task tags of their own: answers are no longer checked against ours.
    var sentRaw = false

    init?(login flags: UInt8) {
        loginFlags = flags
        guard let device = try? RAMDevice(name: "ram0", size: 1 << 20) else { return nil }
        let info = LogicalUnitInfo(lun: 0, blockSize: 512, blockCount: 2048, targetName: Self.targetName, deviceName: "ram0")
        let unit = LogicalUnit(info: info, device: device)
        let catalog = TargetCatalog(targets: [ExportedTarget(name: Self.targetName, alias: nil, units: [0: unit])])
        var offer = TargetOffer()
        offer.headerDigests = [.crc32c, .none]
        offer.dataDigests = [.crc32c, .none]
        let settings = ServerRuntimeSettings(portals: [ListeningPortal(host: "0.0.0.0", port: 3260)], offer: offer,
                                             nopInterval: 5, nopTimeout: 15, loginTimeout: 15, commandWindow: 16)
        let registry = SessionRegistry(catalog: catalog, limits: SessionLimits(maxSessions: 4))
        let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
        do {
            try ISCSIServer.serveConnection(on: channel, settings: settings, registry: registry, logger: logger)
            channel.localAddress = try SocketAddress(ipAddress: "192.0.2.1", port: 3260)
            channel.remoteAddress = try SocketAddress(ipAddress: "192.0.2.100", port: 50000)
            try channel.connect(to: channel.remoteAddress!).wait()
        } catch {
            return nil
        }
    }

    func finish() { _ = try? channel.finish(acceptAlreadyClosed: true) }

    var isOpen: Bool { channel.isActive && !closed }

    /// Login to the full feature phase; false if the target refused (not a finding: the
    /// chosen keys may be ones it must refuse).
    func login() -> Bool {
        let small = loginFlags & 0x10 != 0
        var keys: [(String, String)] = [("InitiatorName", Self.initiatorName), ("SessionType", "Normal"),
                                        ("TargetName", Self.targetName)]
        if loginFlags & 0x20 != 0 {
            keys.append(("AuthMethod", "None"))
            guard let r = exchangeLogin(csg: 0, nsg: 1, keys: keys), r.header.flags & 0x80 != 0 else { return false }
            keys = []
        }
        keys += [("HeaderDigest", loginFlags & 1 != 0 ? "CRC32C" : "None"),
                 ("DataDigest", loginFlags & 2 != 0 ? "CRC32C" : "None"),
                 ("ImmediateData", loginFlags & 4 != 0 ? "Yes" : "No"), ("InitialR2T", loginFlags & 8 != 0 ? "Yes" : "No"),
                 ("MaxRecvDataSegmentLength", small ? "512" : "65536"), ("MaxBurstLength", small ? "1024" : "262144"),
                 ("FirstBurstLength", small ? "512" : "65536"), ("MaxOutstandingR2T", "2")]
        guard let r = exchangeLogin(csg: 1, nsg: 3, keys: keys), r.header.flags & 0x80 != 0 else { return false }
        let answer = (try? TextParameters.parse(r.data)) ?? TextParameters()
        headerDigest = answer["HeaderDigest"] == "CRC32C"
        dataDigest = answer["DataDigest"] == "CRC32C"
        return isOpen
    }

    private func exchangeLogin(csg: UInt8, nsg: UInt8, keys: [(String, String)]) -> PDU? {
        let header = BasicHeaderSegment(opcodeByte: 0x43, flags: 0x80 | csg << 2 | nsg, lunOrSpecific: 0x8000_1234_5678 << 16,
                                        initiatorTaskTag: 0x7000, word20: 1 << 16, word24: cmdSN, word28: expStatSN)
        send(header, data: TextParameters(keys).encoded(), cut: 0)
        let answers = receive()
        guard answers.count == 1, answers[0].header.word36 >> 16 == 0 else { return nil }  // status class 0
        return answers[0]
    }

    func perform(_ step: Step, cut: Int) {
        switch step {
        case let .command(cdb, read, write, edtl, immediateData, immediate):
            let itt = nextITT
            nextITT &+= 1
            tasks.append(itt)
            if tasks.count > 4 { tasks.removeFirst() }
            var c = cdb + [UInt8](repeating: 0, count: max(0, 16 - cdb.count))
            c = Array(c.prefix(16))
            func word(_ i: Int) -> UInt32 { UInt32(c[i]) << 24 | UInt32(c[i + 1]) << 16 | UInt32(c[i + 2]) << 8 | UInt32(c[i + 3]) }
            let flags: UInt8 = 0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 0x01
            let header = BasicHeaderSegment(opcodeByte: (immediate ? 0x40 : 0) | 0x01, flags: flags, initiatorTaskTag: itt,
                                            word20: edtl, word24: cmdSN, word28: expStatSN, word32: word(0),
                                            word36: word(4), word40: word(8), word44: word(12))
            if !immediate { cmdSN &+= 1 }
            send(header, data: pattern(write ? min(immediateData, Int(edtl)) : 0), cut: cut)
        case let .dataOut(task, offset, length, final, useLastTTT):
            let itt = tasks.isEmpty ? 0x55 : tasks[task % tasks.count]
            let header = BasicHeaderSegment(opcodeByte: 0x05, flags: final ? 0x80 : 0, initiatorTaskTag: itt,
                                            word20: useLastTTT ? lastTTT : 0xFFFF_FFFF, word28: expStatSN,
                                            word36: 0, word40: offset)
            send(header, data: pattern(length), cut: cut)
        case let .nopOut(length):
            let header = BasicHeaderSegment(opcodeByte: 0x00, flags: 0x80, initiatorTaskTag: nextITT,
                                            word20: 0xFFFF_FFFF, word24: cmdSN, word28: expStatSN)
            nextITT &+= 1
            cmdSN &+= 1
            send(header, data: pattern(length), cut: cut)
        case let .taskManagement(function, task):
            let referenced = tasks.isEmpty ? 0x55 : tasks[task % tasks.count]
            let header = BasicHeaderSegment(opcodeByte: 0x42, flags: 0x80 | (function + 1), initiatorTaskTag: nextITT,
                                            word20: referenced, word24: cmdSN, word28: expStatSN, word32: cmdSN &- 1)
            nextITT &+= 1
            send(header, data: [], cut: cut)
        case let .text(sendTargets):
            let header = BasicHeaderSegment(opcodeByte: 0x04, flags: 0x80, initiatorTaskTag: nextITT, word20: 0xFFFF_FFFF,
                                            word24: cmdSN, word28: expStatSN)
            nextITT &+= 1
            cmdSN &+= 1
            send(header, data: TextParameters([sendTargets ? ("SendTargets", "All") : ("X-fuzz", "1")]).encoded(), cut: cut)
        case let .logout(reason):
            let header = BasicHeaderSegment(opcodeByte: 0x06, flags: 0x80 | reason, initiatorTaskTag: nextITT,
                                            word20: 1 << 16, word24: cmdSN, word28: expStatSN)
            nextITT &+= 1
            cmdSN &+= 1
            send(header, data: [], cut: cut)
        case let .raw(bytes, length):
            sentRaw = true
            var buffer = ByteBuffer(bytes: bytes)
            buffer.writeBytes(pattern(length))
            feed(buffer, cut: cut)
        case let .time(seconds):
            channel.embeddedEventLoop.advanceTime(by: .seconds(seconds))
        case let .cmdSNSkew(by):
            cmdSN &+= by
        }
        _ = receive()
    }

    private func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 7) } }

    private func send(_ header: BasicHeaderSegment, data: [UInt8], cut: Int) {
        var h = header
        h.dataSegmentLength = UInt32(data.count)
        var wire = ByteBuffer()
        PDUSerializer(headerDigest: headerDigest, dataDigest: dataDigest)
            .serialize(h, data: data.isEmpty ? nil : ByteBuffer(bytes: data), into: &wire)
        feed(wire, cut: cut)
    }

    /// Writes `bytes` to the target in reads of `cut` bytes (0 or more than there are: one read).
    private func feed(_ bytes: ByteBuffer, cut: Int) {
        var rest = bytes
        let size = cut == 0 ? rest.readableBytes : cut
        while rest.readableBytes > 0 && isOpen {
            let piece = rest.readSlice(length: min(size, rest.readableBytes))!
            do { try channel.writeInbound(piece) } catch { closed = true }
        }
    }

    /// The PDUs the target wrote since the last call, checked.
    @discardableResult
    func receive() -> [PDU] {
        while let buffer = try? channel.readOutbound(as: ByteBuffer.self) {
            var b = buffer
            pending.writeBuffer(&b)
        }
        let parser = PDUParser(headerDigest: headerDigest, dataDigest: dataDigest, maxDataSegmentLength: 1 << 24)
        var pdus: [PDU] = []
        while true {
            let pdu: PDU?
            do {
                pdu = try parser.parse(&pending)
            } catch {
                fuzzCheck(false, "the target wrote bytes that do not frame as a PDU: \(error)")
                return pdus
            }
            guard let pdu else { break }
            check(pdu)
            pdus.append(pdu)
        }
        pending.discardReadBytes()
        if !channel.isActive { closed = true }
        return pdus
    }

    private func check(_ pdu: PDU) {
        let h = pdu.header
        let opcode = h.opcodeByte & 0x3F
        let consumesStatSN: Bool
        switch opcode {
        case 0x21, 0x22, 0x23, 0x24, 0x26, 0x3F, 0x32: consumesStatSN = true  // responses, reject, async
        case 0x20: consumesStatSN = h.initiatorTaskTag != 0xFFFF_FFFF           // NOP-In answering a NOP-Out
        case 0x25: consumesStatSN = h.flags & 0x01 != 0                          // Data-In with status
        default: consumesStatSN = false
        }
        if consumesStatSN {
            if statSNKnown {
                fuzzCheck(h.word24 == expStatSN, "StatSN \(h.word24) where \(expStatSN) was next (opcode 0x\(String(opcode, radix: 16)))")
            }
            expStatSN = h.word24 &+ 1
            statSNKnown = true
        }
        if !sentRaw && (opcode == 0x21 || opcode == 0x25 || opcode == 0x31) {
            fuzzCheck(h.initiatorTaskTag < nextITT && h.initiatorTaskTag >= 0x100,
                      "an answer for task 0x\(String(h.initiatorTaskTag, radix: 16)), which was never started")
        }
        if opcode == 0x31 { lastTTT = h.word20 }
    }
}
