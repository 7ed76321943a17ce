// COMPARE AND WRITE as initiators use it for locks (VMware ATS): two initiators with two
// sessions each increment one counter block concurrently, each increment a read followed by
// COMPARE AND WRITE(old -> old + 1), retried on MISCOMPARE. If the target let any two
// increments interleave between compare and write, an update would be lost and the final
// counter would be smaller than the number of increments that got GOOD.
import Foundation
import XCTest

final class CompareAndWriteTests: EndToEndTestCase {
    func testConcurrentIncrementsLoseNoUpdate() throws {
        var config = ConfigBuilder()
        config.fileDevice("disk", size: "4MiB")
        config.target("caw", luns: ["disk"])
        let targe = try startTarge(config)
        let perSession = 40
        let sessions = try [("host-a", 0), ("host-a", 1), ("host-b", 0), ("host-b", 1)].map { name, _ in
            let s = try RawSession(host: targe.host, port: targe.port)
            try s.login(initiator: "iqn.2026-11.org.targe.test:\(name)", target: ConfigBuilder.iqn("caw"),
                        headerDigest: "None")
            try s.clearUnitAttentions()
            s.timeout = 60
            return s
        }
        let lba: UInt64 = 7
        let results = Locked<[(good: Int, miscompares: Int, error: String?)]>([])
        let group = DispatchGroup()
        for session in sessions {
            group.enter()
            Thread {
                defer { group.leave() }
                var good = 0, miscompares = 0
                do {
                    while good < perSession {
                        let read = try session.execute(CAW.read(lba), expectedIn: 512)
                        guard read.status == 0, read.data.count == 512 else { throw E2EError("READ: \(read)") }
                        let old = CAW.counter(read.data)
                        let caw = try session.execute(CAW.compareAndWrite(lba), dataOut: CAW.block(old) + CAW.block(old + 1))
                        if caw.status == 0 {
                            good += 1
                        } else if caw.status == 0x02 && caw.senseKey == 0x0E {
                            miscompares += 1   // another session got there first: read again
                        } else {
                            throw E2EError("COMPARE AND WRITE: \(caw)")
                        }
                    }
                    results.withLock { $0.append((good, miscompares, nil)) }
                } catch {
                    results.withLock { $0.append((good, miscompares, "\(error)")) }
                }
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 300), .success, "the sessions finished")
        let all = results.withLock { $0 }
        for r in all { XCTAssertNil(r.error) }
        let total = all.map(\.good).reduce(0, +)
        let final = try sessions[0].execute(CAW.read(lba), expectedIn: 512)
        XCTAssertEqual(CAW.counter(final.data), UInt64(total), "every GOOD increment is in the counter")
        XCTAssertEqual(total, perSession * sessions.count)
        print("[e2e] \(total) increments from 4 sessions, \(all.map(\.miscompares).reduce(0, +)) miscompares retried")
        for s in sessions { s.conn.close() }
    }
}

/// One 512-byte block holding a counter (big-endian in its first 8 bytes).
private enum CAW {
    static func read(_ lba: UInt64) -> [UInt8] { [0x28, 0, 0, 0, UInt8(lba >> 8 & 0xff), UInt8(lba & 0xff), 0, 0, 1, 0] }

    static func compareAndWrite(_ lba: UInt64) -> [UInt8] {
        var cdb: [UInt8] = [0x89, 0]
        for i in 0..<8 { cdb.append(UInt8(lba >> (56 - 8 * UInt64(i)) & 0xff)) }
        return cdb + [0, 0, 0, 1, 0, 0]
    }

    static func block(_ value: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 512)
        for i in 0..<8 { out[i] = UInt8(value >> (56 - 8 * UInt64(i)) & 0xff) }
        return out
    }

    static func counter(_ bytes: [UInt8]) -> UInt64 { ReservationCDB.be64(bytes, at: 0) }
}

/// Each session is handed to exactly one thread and used only there.
extension RawSession: @unchecked Sendable {}
