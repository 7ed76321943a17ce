// A deliberately small, independent iSCSI initiator over a raw socket, for feeding the target
// bad input. PDUs are built by hand (RFC 7143: 48-byte BHS, big-endian fields).
import Foundation
import enum ISCSI.CHAPResponse
#if canImport(Glibc)
import Glibc
#endif

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), bitwise. iSCSI sends the digest
/// least significant byte first (RFC 3720 B.4: 32 zero bytes -> aa 36 91 8a).
func crc32c(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 {
            crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
        }
    }
    return crc ^ 0xFFFF_FFFF
}

func digestBytes(_ crc: UInt32) -> [UInt8] {
    [UInt8(crc & 0xff), UInt8((crc >> 8) & 0xff), UInt8((crc >> 16) & 0xff), UInt8(crc >> 24)]
}

enum Opcode {
    // initiator
    static let nopOut: UInt8 = 0x00
    static let scsiCommand: UInt8 = 0x01
    static let loginRequest: UInt8 = 0x03
    static let logoutRequest: UInt8 = 0x06
    // target
    static let nopIn: UInt8 = 0x20
    static let scsiResponse: UInt8 = 0x21
    static let loginResponse: UInt8 = 0x23
    static let dataIn: UInt8 = 0x25
    static let logoutResponse: UInt8 = 0x26
    static let r2t: UInt8 = 0x31
    static let asyncMessage: UInt8 = 0x32
    static let reject: UInt8 = 0x3f
}

/// One PDU as received or to be sent.
struct PDU: CustomStringConvertible {
    var bhs: [UInt8]
    var ahs: [UInt8] = []
    var data: [UInt8] = []

    init(bhs: [UInt8] = [UInt8](repeating: 0, count: 48), data: [UInt8] = []) {
        precondition(bhs.count == 48)
        self.bhs = bhs
        self.data = data
    }

    var opcode: UInt8 { bhs[0] & 0x3f }
    var flags: UInt8 { bhs[1] }
    var dataSegmentLength: Int { Int(bhs[5]) << 16 | Int(bhs[6]) << 8 | Int(bhs[7]) }
    func u32(_ at: Int) -> UInt32 {
        UInt32(bhs[at]) << 24 | UInt32(bhs[at + 1]) << 16 | UInt32(bhs[at + 2]) << 8 | UInt32(bhs[at + 3])
    }
    mutating func setU32(_ at: Int, _ v: UInt32) {
        bhs[at] = UInt8(v >> 24); bhs[at + 1] = UInt8((v >> 16) & 0xff)
        bhs[at + 2] = UInt8((v >> 8) & 0xff); bhs[at + 3] = UInt8(v & 0xff)
    }
    mutating func setDataSegmentLength(_ n: Int) {
        bhs[5] = UInt8((n >> 16) & 0xff); bhs[6] = UInt8((n >> 8) & 0xff); bhs[7] = UInt8(n & 0xff)
    }

    /// Bytes on the wire: BHS [+ header digest] + data padded to 4 (no data digest).
    /// `corruptDigest` flips bits of the header digest.
    func wire(headerDigest: Bool, corruptDigest: Bool = false, dataDigest: Bool = false,
              corruptDataDigest: Bool = false) -> [UInt8] {
        var out = bhs
        if headerDigest {
            var crc = crc32c(bhs)
            if corruptDigest { crc ^= 0x5a5a_5a5a }
            out += digestBytes(crc)
        }
        let padded = data + [UInt8](repeating: 0, count: (4 - data.count % 4) % 4)
        out += padded
        if dataDigest && !data.isEmpty {
            var crc = crc32c(padded)
            if corruptDataDigest { crc ^= 0x0101_0101 }
            out += digestBytes(crc)
        }
        return out
    }

    /// Text-segment keys (key=value pairs, NUL separated).
    var keys: [String: String] {
        var result: [String: String] = [:]
        for pair in data.split(separator: 0) {
            let s = String(decoding: pair, as: UTF8.self)
            if let eq = s.firstIndex(of: "=") {
                result[String(s[..<eq])] = String(s[s.index(after: eq)...])
            }
        }
        return result
    }

    var description: String {
        "PDU(opcode 0x\(String(opcode, radix: 16)), flags 0x\(String(flags, radix: 16)), dsl \(dataSegmentLength))"
    }
}

func textSegment(_ pairs: [(String, String)]) -> [UInt8] {
    pairs.flatMap { Array("\($0.0)=\($0.1)".utf8) + [0] }
}

/// How a read ended when no PDU came.
enum ReadEnd: Error, CustomStringConvertible {
    case closed           // orderly EOF
    case reset(Int32)     // ECONNRESET or another socket error
    case timedOut
    case badDigest(String)

    var description: String {
        switch self {
        case .closed: return "connection closed by the target (EOF)"
        case .reset(let e): return "connection error: \(String(cString: strerror(e)))"
        case .timedOut: return "timed out waiting for the target"
        case .badDigest(let s): return "bad header digest from the target: \(s)"
        }
    }

    var isDrop: Bool {
        switch self {
        case .closed, .reset: return true
        default: return false
        }
    }
}

/// A blocking TCP connection with deadlines (poll) and no SIGPIPE (MSG_NOSIGNAL).
final class RawConnection {
    private(set) var fd: Int32 = -1

    /// `source` binds the local end first (e.g. 127.0.0.2, to test address-based access rules).
    init(host: String, port: UInt16, timeout: TimeInterval = 10, source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw E2EError("socket: \(String(cString: strerror(errno)))") }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            guard inet_pton(AF_INET, source, &local.sin_addr) == 1 else {
                close()
                throw E2EError("bad IPv4 source address \(source)")
            }
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                close()
                throw E2EError("bind \(source): \(String(cString: strerror(errno)))")
            }
        }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close()
            throw E2EError("bad IPv4 address \(host)")
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let e = errno
            close()
            throw E2EError("connect \(host):\(port): \(String(cString: strerror(e)))")
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    /// Sends everything; throws ReadEnd.reset when the peer has gone (EPIPE, ECONNRESET).
    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { buf in
                Glibc.send(fd, buf.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw ReadEnd.timedOut }
                throw ReadEnd.reset(errno)
            }
            sent += n
        }
    }

    /// Exactly `count` bytes, or ReadEnd.
    func read(_ count: Int, deadline: Date) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        var buf = [UInt8](repeating: 0, count: min(max(count, 1), 65536))
        while out.count < count {
            let ms = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let pr = poll(&pfd, 1, ms)
            if pr < 0 {
                if errno == EINTR { continue }
                throw ReadEnd.reset(errno)
            }
            if pr == 0 { throw ReadEnd.timedOut }
            let want = min(buf.count, count - out.count)
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, want, 0) }
            if n == 0 { throw ReadEnd.closed }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw ReadEnd.reset(errno)
            }
            out += buf[0..<n]
        }
        return out
    }

    /// Reads and discards until the peer closes (returns the ending) or the deadline passes.
    func waitForClose(deadline: Date) -> (end: ReadEnd, discarded: Int) {
        var discarded = 0
        while true {
            do {
                discarded += try read(1, deadline: deadline).count
            } catch let end as ReadEnd {
                return (end, discarded)
            } catch {
                return (.reset(EIO), discarded)
            }
        }
    }

    func readPDU(headerDigest: Bool, dataDigest: Bool = false, deadline: Date) throws -> PDU {
        var pdu = PDU(bhs: try read(48, deadline: deadline))
        let ahsLength = Int(pdu.bhs[4]) * 4
        if ahsLength > 0 { pdu.ahs = try read(ahsLength, deadline: deadline) }
        if headerDigest {
            let got = try read(4, deadline: deadline)
            let want = digestBytes(crc32c(pdu.bhs + pdu.ahs))
            if got != want { throw ReadEnd.badDigest("got \(got), computed \(want) for \(pdu)") }
        }
        let dsl = pdu.dataSegmentLength
        if dsl > 0 {
            let padded = try read((dsl + 3) & ~3, deadline: deadline)
            if dataDigest {
                let got = try read(4, deadline: deadline)
                let want = digestBytes(crc32c(padded))
                if got != want { throw ReadEnd.badDigest("data digest: got \(got), computed \(want) for \(pdu)") }
            }
            pdu.data = Array(padded.prefix(dsl))
        }
        return pdu
    }
}

/// A logged-in normal session (one connection) with just enough of the protocol for the
/// bad-input tests: login, NOP ping, READ CAPACITY(10), raw PDU sending.
final class RawSession {
    let conn: RawConnection
    private(set) var headerDigest = false
    private(set) var dataDigest = false
    private(set) var statSN: UInt32 = 0
    /// The next CmdSN this side sends (settable: connections of one session share the numbers).
    var cmdSN: UInt32 = 0
    /// The session's ISID and TSIH once logged in (a further connection joins with them).
    private(set) var isid: [UInt8] = []
    private(set) var tsih: UInt16 = 0
    private(set) var maxCmdSN: UInt32 = 0
    private var itt: UInt32 = 0x100
    /// The target's declared MaxRecvDataSegmentLength (RFC default 8192 when not declared).
    private(set) var targetMaxRecvDataSegmentLength = 8192
    private(set) var negotiated: [String: String] = [:]
    var timeout: TimeInterval = 10
    /// The LUN addressed by SCSI commands (single-level, peripheral addressing).
    var lun: UInt8 = 0

    var deadline: Date { Date().addingTimeInterval(timeout) }

    init(host: String, port: UInt16, source: String? = nil) throws {
        conn = try RawConnection(host: host, port: port, source: source)
    }

    func nextITT() -> UInt32 {
        itt += 1
        return itt
    }

    /// Normal-session login going straight from the operational stage (CSG=1) to full
    /// feature phase (NSG=3) with the T bit set.
    /// `join` logs in a further connection of an existing session (its ISID and TSIH, this
    /// connection's CID), starting from the session's next CmdSN.
    func login(initiator: String, target: String, headerDigest: String, immediateData: Bool = true,
               initialR2T: Bool = false, dataDigest: String = "None", maxConnections: Int = 1,
               join: (isid: [UInt8], tsih: UInt16, cid: UInt16, cmdSN: UInt32)? = nil,
               chap: (user: String, secret: String)? = nil, fixedISID: [UInt8]? = nil, discovery: Bool = false) throws {
        var isid: [UInt8] = [0x80, 0, 0, 0, 0, 0]    // random-qualifier ISID
        for i in 1..<6 { isid[i] = UInt8.random(in: 0...255) }
        if let fixedISID { isid = fixedISID }
        if let join {
            isid = join.isid
            cmdSN = join.cmdSN
        }
        let loginITT = nextITT()
        var keys: [(String, String)] = [
            ("InitiatorName", initiator),
            ("SessionType", "Normal"),
            ("TargetName", target),
            ("HeaderDigest", headerDigest),
            ("DataDigest", dataDigest),
            ("MaxRecvDataSegmentLength", "262144"),
            ("ErrorRecoveryLevel", "0"),
            ("InitialR2T", initialR2T ? "Yes" : "No"),
            ("ImmediateData", immediateData ? "Yes" : "No"),
            ("MaxBurstLength", "262144"),
            ("FirstBurstLength", "65536"),
            ("MaxOutstandingR2T", "1"),
            ("DataPDUInOrder", "Yes"),
            ("DataSequenceInOrder", "Yes"),
            ("DefaultTime2Wait", "0"),
            ("DefaultTime2Retain", "0"),
            ("MaxConnections", "\(maxConnections)"),
        ]
        if discovery {
            keys[1] = ("SessionType", "Discovery")
            keys.remove(at: 2)  // no TargetName
        }
        if let chap {
            try authenticate(chap, isid: isid, itt: loginITT, declared: Array(keys.prefix(3)), deadline: deadline)
            keys.removeFirst(3)   // InitiatorName, SessionType, TargetName went in the security stage
        }
        for step in 0..<4 {
            var req = PDU(data: textSegment(keys))
            req.bhs[0] = 0x40 | Opcode.loginRequest               // I bit: login is immediate
            req.bhs[1] = 0x80 | (1 << 2) | 3                       // T, CSG=1, NSG=3
            req.setDataSegmentLength(req.data.count)
            for i in 0..<6 { req.bhs[8 + i] = isid[i] }
            if let join {
                req.bhs[14] = UInt8(join.tsih >> 8)
                req.bhs[15] = UInt8(join.tsih & 0xff)
                req.bhs[20] = UInt8(join.cid >> 8)
                req.bhs[21] = UInt8(join.cid & 0xff)
            }
            req.setU32(16, loginITT)
            req.setU32(24, cmdSN)
            req.setU32(28, step == 0 ? 0 : statSN &+ 1)
            try conn.send(req.wire(headerDigest: false))

            let rsp = try conn.readPDU(headerDigest: false, deadline: deadline)
            guard rsp.opcode == Opcode.loginResponse else {
                throw E2EError("expected a Login Response, got \(rsp)")
            }
            let statusClass = rsp.bhs[36], statusDetail = rsp.bhs[37]
            guard statusClass == 0 else {
                throw E2EError("login rejected: status class 0x\(String(statusClass, radix: 16)) detail 0x\(String(statusDetail, radix: 16)), keys \(rsp.keys)")
            }
            statSN = rsp.u32(24)
            cmdSN = rsp.u32(28)
            maxCmdSN = rsp.u32(32)
            negotiated.merge(rsp.keys) { _, new in new }
            if rsp.flags & 0x80 != 0 && rsp.flags & 0x03 == 3 {
                if let v = negotiated["MaxRecvDataSegmentLength"], let n = Int(v) {
                    targetMaxRecvDataSegmentLength = n
                }
                self.isid = isid
                self.tsih = UInt16(rsp.bhs[14]) << 8 | UInt16(rsp.bhs[15])
                self.headerDigest = negotiated["HeaderDigest"]?.uppercased() == "CRC32C"
                self.dataDigest = negotiated["DataDigest"]?.uppercased() == "CRC32C"
                return
            }
            keys = []   // the target wants another round: ask again to transit
        }
        throw E2EError("target never set the T bit to full feature phase; keys so far: \(negotiated)")
    }

    /// The security stage with CHAP (MD5): AuthMethod, then CHAP_A, then CHAP_N/CHAP_R with
    /// the T bit to the operational stage. Throws on any refusal.
    private func authenticate(_ chap: (user: String, secret: String), isid: [UInt8], itt: UInt32,
                              declared: [(String, String)], deadline: Date) throws {
        func exchange(_ keys: [(String, String)], transit: Bool, first: Bool) throws -> [String: String] {
            var req = PDU(data: textSegment(keys))
            req.bhs[0] = 0x40 | Opcode.loginRequest
            req.bhs[1] = transit ? 0x80 | 1 : 0                     // CSG=0; with T: NSG=1
            req.setDataSegmentLength(req.data.count)
            for i in 0..<6 { req.bhs[8 + i] = isid[i] }
            req.setU32(16, itt)
            req.setU32(24, cmdSN)
            req.setU32(28, first ? 0 : statSN &+ 1)
            try conn.send(req.wire(headerDigest: false))
            let rsp = try conn.readPDU(headerDigest: false, deadline: deadline)
            guard rsp.opcode == Opcode.loginResponse else { throw E2EError("expected a Login Response, got \(rsp)") }
            guard rsp.bhs[36] == 0 else {
                throw E2EError("login rejected: status class 0x\(String(rsp.bhs[36], radix: 16)) detail 0x\(String(rsp.bhs[37], radix: 16)), keys \(rsp.keys)")
            }
            statSN = rsp.u32(24)
            return rsp.keys
        }
        _ = try exchange(declared + [("AuthMethod", "CHAP")], transit: false, first: true)
        let challenge = try exchange([("CHAP_A", "5")], transit: false, first: false)
        guard let id = challenge["CHAP_I"].flatMap({ UInt8($0) }), let c = challenge["CHAP_C"], c.hasPrefix("0x") else {
            throw E2EError("no CHAP challenge: \(challenge)")
        }
        var bytes: [UInt8] = []
        var hex = Substring(c.dropFirst(2))
        while hex.count >= 2 {
            bytes.append(UInt8(hex.prefix(2), radix: 16)!)
            hex = hex.dropFirst(2)
        }
        let response = CHAPResponse.md5(identifier: id, secret: Array(chap.secret.utf8), challenge: bytes)
        _ = try exchange([("CHAP_N", chap.user), ("CHAP_R", "0x" + response.map { String(format: "%02x", $0) }.joined())],
                         transit: true, first: false)
    }

    /// Sends a PDU with this session's header-digest setting (or a corrupted digest).
    func send(_ pdu: PDU, corruptDigest: Bool = false, corruptDataDigest: Bool = false) throws {
        try conn.send(pdu.wire(headerDigest: headerDigest, corruptDigest: corruptDigest, dataDigest: dataDigest,
                               corruptDataDigest: corruptDataDigest))
    }

    func readPDU() throws -> PDU {
        let pdu = try conn.readPDU(headerDigest: headerDigest, dataDigest: dataDigest, deadline: deadline)
        let carriesWindow: Set<UInt8> = [Opcode.scsiResponse, Opcode.nopIn, Opcode.reject, Opcode.dataIn,
                                          Opcode.r2t, Opcode.asyncMessage, Opcode.logoutResponse]
        if carriesWindow.contains(pdu.opcode) {
            let expCmdSN = pdu.u32(28), newMax = pdu.u32(32)
            if Int32(bitPattern: newMax &- maxCmdSN) > 0 { maxCmdSN = newMax }
            if Int32(bitPattern: expCmdSN &- cmdSN) > 0 { cmdSN = expCmdSN }
        }
        // PDUs whose StatSN is a real (advanced) status sequence number.
        let advancesStatSN = pdu.opcode == Opcode.scsiResponse || pdu.opcode == Opcode.reject
            || pdu.opcode == Opcode.logoutResponse || pdu.opcode == Opcode.asyncMessage
            || (pdu.opcode == Opcode.dataIn && pdu.flags & 0x01 != 0)
            || (pdu.opcode == Opcode.nopIn && pdu.u32(16) != 0xFFFF_FFFF)
        if advancesStatSN && Int32(bitPattern: pdu.u32(24) &- statSN) > 0 { statSN = pdu.u32(24) }
        return pdu
    }

    /// An immediate NOP-Out that asks for a NOP-In (ITT set, TTT reserved).
    func nopOut(itt: UInt32) -> PDU {
        var pdu = PDU()
        pdu.bhs[0] = 0x40 | Opcode.nopOut
        pdu.bhs[1] = 0x80
        pdu.setU32(16, itt)
        pdu.setU32(20, 0xFFFF_FFFF)
        pdu.setU32(24, cmdSN)
        pdu.setU32(28, statSN &+ 1)
        return pdu
    }

    /// Ping: NOP-Out, wait for the NOP-In with the same ITT (skipping unsolicited PDUs).
    func ping() throws {
        let tag = nextITT()
        try send(nopOut(itt: tag))
        for _ in 0..<16 {
            let rsp = try readPDU()
            if rsp.opcode == Opcode.nopIn && rsp.u32(16) == tag { return }
            if rsp.opcode == Opcode.reject { throw E2EError("NOP-Out rejected, reason 0x\(String(rsp.bhs[2], radix: 16))") }
        }
        throw E2EError("no NOP-In answered the ping")
    }

    /// A SCSI Command PDU (non-immediate: consumes a CmdSN).
    func scsiCommand(cdb: [UInt8], read: Bool, write: Bool, expectedLength: UInt32,
                     data: [UInt8] = [], itt: UInt32) -> PDU {
        var pdu = PDU(data: data)
        pdu.bhs[0] = Opcode.scsiCommand
        pdu.bhs[1] = 0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 0x01   // F, R, W, ATTR=simple
        pdu.setDataSegmentLength(data.count)
        pdu.bhs[9] = lun
        pdu.setU32(16, itt)
        pdu.setU32(20, expectedLength)
        pdu.setU32(24, cmdSN)
        pdu.setU32(28, statSN &+ 1)
        for (i, b) in cdb.prefix(16).enumerated() { pdu.bhs[32 + i] = b }
        cmdSN &+= 1
        return pdu
    }

    /// READ CAPACITY(10): (last LBA, block length). Retries CHECK CONDITION a few times: the
    /// first command of a new I_T nexus may well get a unit attention (power on / reset).
    func readCapacity10() throws -> (lastLBA: UInt32, blockLength: UInt32) {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try readCapacity10Once()
            } catch let error as CheckCondition where attempt < 4 {
                print("[e2e] READ CAPACITY(10) attempt \(attempt): \(error); retrying")
            }
        }
    }

    struct CheckCondition: Error, CustomStringConvertible {
        var sense: [UInt8]
        var description: String {
            // Data segment of a SCSI Response: 2-byte SenseLength, then fixed-format sense.
            let s = sense.count > 2 ? Array(sense.dropFirst(2)) : []
            guard s.count >= 14 else { return "CHECK CONDITION (sense \(sense))" }
            return "CHECK CONDITION key 0x\(String(s[2] & 0x0f, radix: 16)) asc 0x\(String(s[12], radix: 16)) ascq 0x\(String(s[13], radix: 16))"
        }
    }

    private func readCapacity10Once() throws -> (lastLBA: UInt32, blockLength: UInt32) {
        let tag = nextITT()
        try send(scsiCommand(cdb: [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], read: true, write: false,
                             expectedLength: 8, itt: tag))
        var payload: [UInt8] = []
        for _ in 0..<16 {
            let rsp = try readPDU()
            guard rsp.u32(16) == tag || rsp.opcode == Opcode.nopIn || rsp.opcode == Opcode.asyncMessage else {
                throw E2EError("unexpected \(rsp) while waiting for READ CAPACITY")
            }
            switch rsp.opcode {
            case Opcode.dataIn:
                payload += rsp.data
                if rsp.flags & 0x01 != 0 {   // S bit: status in this PDU
                    guard rsp.bhs[3] == 0 else { throw E2EError("READ CAPACITY status 0x\(String(rsp.bhs[3], radix: 16))") }
                    return try Self.parseCapacity(payload)
                }
            case Opcode.scsiResponse:
                if rsp.bhs[2] == 0 && rsp.bhs[3] == 0x02 { throw CheckCondition(sense: rsp.data) }
                guard rsp.bhs[2] == 0 && rsp.bhs[3] == 0 else {
                    throw E2EError("READ CAPACITY failed: response 0x\(String(rsp.bhs[2], radix: 16)) status 0x\(String(rsp.bhs[3], radix: 16))")
                }
                return try Self.parseCapacity(payload)
            case Opcode.reject:
                throw E2EError("READ CAPACITY rejected, reason 0x\(String(rsp.bhs[2], radix: 16))")
            case Opcode.nopIn:
                if rsp.u32(20) != 0xFFFF_FFFF {   // target ping: answer it
                    var reply = nopOut(itt: 0xFFFF_FFFF)
                    reply.setU32(20, rsp.u32(20))
                    try send(reply)
                }
            default:
                continue
            }
        }
        throw E2EError("no response to READ CAPACITY")
    }

    private static func parseCapacity(_ d: [UInt8]) throws -> (lastLBA: UInt32, blockLength: UInt32) {
        guard d.count >= 8 else { throw E2EError("READ CAPACITY returned \(d.count) bytes") }
        let be = { (i: Int) in UInt32(d[i]) << 24 | UInt32(d[i + 1]) << 16 | UInt32(d[i + 2]) << 8 | UInt32(d[i + 3]) }
        return (be(0), be(4))
    }
}
