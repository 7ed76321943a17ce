// SANITIZE on a file LU, checked on the backing file itself: an OVERWRITE started with IMMED
// runs detached while every command but INQUIRY / REPORT LUNS / REQUEST SENSE answers NOT
// READY, SANITIZE IN PROGRESS with a growing progress indication, even after the session
// that started it is gone; afterwards every byte of the file is the pattern. A BLOCK ERASE
// then leaves the file with no data blocks at all (holes read as zeros).
import Foundation
import XCTest

final class SanitizeTests: EndToEndTestCase {
    func testOverwriteThenBlockEraseReachTheBackingFile() throws {
        var config = ConfigBuilder()
        config.fileDevice("disk", size: "16MiB")
        config.target("wipe", luns: ["disk"])
        config.sanitizeRate = "4MiB"   // about 4 s: long enough to watch it run
        let targe = try startTarge(config)
        let path = targe.dir.appendingPathComponent("disk.img").path
        let initiator = "iqn.2026-11.org.targe.test:wiper"

        var session = try RawSession(host: targe.host, port: targe.port)
        try session.login(initiator: initiator, target: ConfigBuilder.iqn("wipe"), headerDigest: "None")
        try session.clearUnitAttentions()
        let pattern: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]
        let started = try session.execute([0x48, 0x81, 0, 0, 0, 0, 0, 0, 8, 0], dataOut: [0x01, 0, 0, 4] + pattern)
        XCTAssertEqual(started.status, 0, "SANITIZE OVERWRITE with IMMED: \(started)")

        // The session that started it goes away; a new one sees it running.
        session.conn.close()
        session = try RawSession(host: targe.host, port: targe.port)
        try session.login(initiator: initiator, target: ConfigBuilder.iqn("wipe"), headerDigest: "None")
        session.timeout = 30
        var progress: [Int] = []
        var finished = false
        for _ in 0..<600 {
            let tur = try session.execute([0, 0, 0, 0, 0, 0])
            if tur.status == 0 { finished = true; break }
            if tur.senseKey == 0x02 && tur.asc == 0x04 && tur.sense[13] == 0x1B {
                XCTAssertEqual(tur.sense[15] & 0x80, 0x80, "SKSV: a progress indication")
                progress.append(Int(tur.sense[16]) << 8 | Int(tur.sense[17]))
                let inquiry = try session.execute([0x12, 0, 0, 0, 36, 0], expectedIn: 36)
                XCTAssertEqual(inquiry.status, 0, "INQUIRY is served during a sanitize")
            } else {
                XCTAssertEqual(tur.senseKey, 0x06, "only a unit attention besides: \(tur)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertTrue(finished, "the sanitize ended")
        XCTAssertGreaterThan(progress.count, 2, "it was seen running")
        XCTAssertEqual(progress, progress.sorted(), "progress only grows")
        XCTAssertGreaterThan(progress.last ?? 0, progress.first ?? 0)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(bytes.count, 16 << 20)
        XCTAssertTrue(bytes.indices.allSatisfy { bytes[$0] == pattern[$0 % 4] }, "every byte of the file is the pattern")

        let erased = try session.execute([0x48, 0x02, 0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(erased.status, 0, "SANITIZE BLOCK ERASE: \(erased)")
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_size, 16 << 20, "the file keeps its size")
        XCTAssertEqual(info.st_blocks, 0, "and holds no data blocks")
        let read = try session.execute([0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0], expectedIn: 4096)
        XCTAssertEqual(read.data, [UInt8](repeating: 0, count: 4096), "erased blocks read as zeros")
        session.conn.close()
    }
}
