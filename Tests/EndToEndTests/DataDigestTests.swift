// Data digests (CRC32C over the data segment) on the wire, with the raw initiator: libiscsi
// and qemu never negotiate DataDigest, so this is the end-to-end proof for that code path.
import Foundation
import XCTest

final class DataDigestTests: EndToEndTestCase {
    private static let initiator = "iqn.2026-11.org.targe.test:e2e-digest"

    private func start() throws -> TargeProcess {
        var config = ConfigBuilder()
        config.set("HeaderDigest", "CRC32C")
        config.set("DataDigest", "CRC32C")
        config.set("MaxRecvDataSegmentLength", "8192")
        config.fileDevice("disk0", size: "16MiB")
        config.target("disk", luns: ["disk0"])
        return try startTarge(config)
    }

    private func login(_ targe: TargeProcess) throws -> RawSession {
        let s = try RawSession(host: targe.host, port: targe.port)
        try s.login(initiator: Self.initiator, target: ConfigBuilder.iqn("disk"), headerDigest: "CRC32C",
                    dataDigest: "CRC32C")
        XCTAssertTrue(s.headerDigest && s.dataDigest, "both digests must be on: \(s.negotiated)")
        return s
    }

    /// Waits for the status of `itt`, collecting Data-In; unit attentions are retried by the caller.
    private func status(_ s: RawSession, itt: UInt32) throws -> (status: UInt8, data: [UInt8]) {
        var data: [UInt8] = []
        for _ in 0..<64 {
            let rsp = try s.readPDU()
            guard rsp.u32(16) == itt else { continue }
            switch rsp.opcode {
            case Opcode.dataIn:
                data += rsp.data
                if rsp.flags & 0x01 != 0 { return (rsp.bhs[3], data) }
            case Opcode.scsiResponse:
                return (rsp.bhs[3], data)
            default:
                throw E2EError("unexpected \(rsp)")
            }
        }
        throw E2EError("no status for task \(itt)")
    }

    func testWriteAndReadBackWithDataDigests() throws {
        let targe = try start()
        let s = try login(targe)
        _ = try s.readCapacity10()  // absorbs a unit attention, if any
        // 8 blocks at LBA 100 as immediate data (4096 bytes <= FirstBurstLength).
        let payload = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let write = s.nextITT()
        try s.send(s.scsiCommand(cdb: [0x2a, 0, 0, 0, 0, 100, 0, 0, 8, 0], read: false, write: true,
                                 expectedLength: 4096, data: payload, itt: write))
        XCTAssertEqual(try status(s, itt: write).status, 0, "WRITE(10) with a data digest\n\(targe.diagnostics)")
        let read = s.nextITT()
        try s.send(s.scsiCommand(cdb: [0x28, 0, 0, 0, 0, 100, 0, 0, 8, 0], read: true, write: false,
                                 expectedLength: 4096, itt: read))
        // readPDU verifies every Data-In digest and throws on a mismatch.
        let back = try status(s, itt: read)
        XCTAssertEqual(back.status, 0)
        XCTAssertEqual(back.data, payload, "data read back with digests")
    }

    func testCorruptDataDigestIsRejected() throws {
        let targe = try start()
        let s = try login(targe)
        _ = try s.readCapacity10()
        let write = s.nextITT()
        try s.send(s.scsiCommand(cdb: [0x2a, 0, 0, 0, 0, 1, 0, 0, 1, 0], read: false, write: true,
                                 expectedLength: 512, data: [UInt8](repeating: 0xee, count: 512), itt: write),
                   corruptDataDigest: true)
        // RFC 7143 section 7.8: a data digest error is answered with a Reject (reason 0x02);
        // at ErrorRecoveryLevel 0 the command is lost, and the target drops the connection.
        var sawReject = false
        while true {
            do {
                let rsp = try s.readPDU()
                if rsp.opcode == Opcode.reject {
                    XCTAssertEqual(rsp.bhs[2], 0x02, "reject reason")
                    sawReject = true
                }
                XCTAssertNotEqual(rsp.opcode, Opcode.scsiResponse, "the corrupt write must not complete")
            } catch {
                break
            }
        }
        XCTAssertTrue(sawReject, "no Reject for the data digest error\n\(targe.diagnostics)")
        assertAlive(targe, "after a data digest error")
        let again = try login(targe)
        XCTAssertNoThrow(try again.ping())
    }
}
