// Liveness pings and shutdown, seen from a raw initiator that answers (or not) as told.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class SessionLifecycleTests: EndToEndTestCase {
    private static let initiator = "iqn.2026-11.org.targe.test:e2e-lifecycle"

    private func startTarget(nopInterval: Int, nopTimeout: Int) throws -> TargeProcess {
        var config = ConfigBuilder()
        config.timeouts = [("nop-interval", "\(nopInterval)"), ("nop-timeout", "\(nopTimeout)"), ("login-timeout", "15")]
        config.ramDevice("ram0", size: "16MiB")
        config.target("disk", luns: ["ram0"])
        return try startTarge(config)
    }

    private func login(_ targe: TargeProcess) throws -> RawSession {
        let s = try RawSession(host: targe.host, port: targe.port)
        try s.login(initiator: Self.initiator, target: ConfigBuilder.iqn("disk"), headerDigest: "None")
        return s
    }

    /// A NOP-In the target sent on its own (a ping: TTT set, ITT reserved).
    private func isPing(_ pdu: PDU) -> Bool {
        pdu.opcode == Opcode.nopIn && pdu.u32(16) == 0xFFFF_FFFF && pdu.u32(20) != 0xFFFF_FFFF
    }

    func testSilentInitiatorIsPingedThenDropped() throws {
        let targe = try startTarget(nopInterval: 1, nopTimeout: 2)
        let s = try login(targe)
        var pings = 0
        let start = Date()
        var end: ReadEnd?
        while Date().timeIntervalSince(start) < 12 {
            do {
                let pdu = try s.conn.readPDU(headerDigest: false, deadline: Date().addingTimeInterval(12))
                if isPing(pdu) { pings += 1 }  // and never answer it
            } catch let e as ReadEnd {
                end = e
                break
            }
        }
        XCTAssertGreaterThanOrEqual(pings, 1, "the target never pinged the idle initiator")
        XCTAssertTrue(end?.isDrop ?? false, "an initiator that ignores pings must be dropped (got \(String(describing: end)))\n\(targe.diagnostics)")
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, 10, "dropped only after \(elapsed) s with nop-interval 1, nop-timeout 2")
        assertAlive(targe, "after dropping a silent initiator")
    }

    func testAnsweredPingsKeepTheConnection() throws {
        let targe = try startTarget(nopInterval: 1, nopTimeout: 2)
        let s = try login(targe)
        var pings = 0
        let start = Date()
        while Date().timeIntervalSince(start) < 6 {
            let pdu: PDU
            do {
                pdu = try s.conn.readPDU(headerDigest: false, deadline: Date().addingTimeInterval(1))
            } catch ReadEnd.timedOut {
                continue
            }
            guard isPing(pdu) else { continue }
            pings += 1
            // The answer: NOP-Out, immediate, ITT reserved, the ping's TTT echoed.
            var answer = PDU()
            answer.bhs[0] = 0x40 | Opcode.nopOut
            answer.bhs[1] = 0x80
            answer.setU32(16, 0xFFFF_FFFF)
            answer.setU32(20, pdu.u32(20))
            answer.setU32(24, s.cmdSN)
            answer.setU32(28, pdu.u32(24))
            try s.send(answer)
        }
        XCTAssertGreaterThanOrEqual(pings, 2, "expected pings every second on an idle connection")
        XCTAssertNoThrow(try s.ping(), "the connection must survive answered pings\n\(targe.diagnostics)")
    }

    func testSigtermAsksInitiatorsToLogOutAndExitsCleanly() throws {
        let targe = try startTarget(nopInterval: 0, nopTimeout: 15)
        let s = try login(targe)
        try s.ping()
        XCTAssertEqual(kill(targe.pid, SIGTERM), 0)
        var sawLogoutRequest = false
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            do {
                let pdu = try s.conn.readPDU(headerDigest: false, deadline: deadline)
                // Async Message, AsyncEvent 1: "the target requests Logout".
                if pdu.opcode == Opcode.asyncMessage && pdu.bhs[36] == 1 { sawLogoutRequest = true }
            } catch {
                break  // the target closes the connection after its grace period
            }
        }
        XCTAssertTrue(sawLogoutRequest, "no Async Message asking for logout\n\(targe.diagnostics)")
        guard let stopped = targe.stop() else { return XCTFail("targe was not running") }
        XCTAssertTrue(stopped.clean, "targe \(stopped.summary)\n\(targe.diagnostics)")
        let log = (try? String(contentsOfFile: targe.stderrPath, encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains("logging sessions out"), "shutdown not logged\n\(targe.diagnostics)")
    }
}
