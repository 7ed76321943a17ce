// A benchmark, not a test (`make bench-reload`; skipped unless TARGE_BENCH_RELOAD=1): how long
// the I/O of one session stalls while reloads run with 64 sessions open. One session reads
// 4 KiB blocks back to back and records the longest gap between a command and its answer
// while the config flips between two versions (a target and a LUN added, then removed).
// Prints the median of the per-command times and the longest; the goal for the
// longest is under 100 ms.
import Foundation
import XCTest

final class ReloadPauseBenchmark: EndToEndTestCase {
    private func config(extra: Bool) -> ConfigBuilder {
        var config = ConfigBuilder()
        config.maxSessions = 256
        config.timeouts = [("nop-interval", "0"), ("nop-timeout", "15"), ("login-timeout", "15")]
        config.ramDevice("a", size: "64MiB")
        config.ramDevice("x", size: "8MiB")
        config.ramDevice("y", size: "8MiB")
        config.target("a", luns: extra ? ["a", "x"] : ["a"])
        if extra { config.target("extra", luns: ["y"]) }
        return config
    }

    func testLongestPauseDuringReloads() throws {
        guard ProcessInfo.processInfo.environment["TARGE_BENCH_RELOAD"] == "1" else {
            throw XCTSkip("a benchmark: run with TARGE_BENCH_RELOAD=1 (make bench-reload)")
        }
        let sessions = Int(ProcessInfo.processInfo.environment["TARGE_BENCH_SESSIONS"] ?? "") ?? 64
        let reloads = Int(ProcessInfo.processInfo.environment["TARGE_BENCH_RELOADS"] ?? "") ?? 20
        let targe = try startTarge(config(extra: false))
        var idle: [RawSession] = []
        for i in 1..<sessions {
            let s = try RawSession(host: targe.host, port: targe.port)
            try s.login(initiator: "iqn.2026-11.org.targe.test:bench-idle-\(i)", target: ConfigBuilder.iqn("a"),
                        headerDigest: "None")
            idle.append(s)
        }
        let reader = try RawSession(host: targe.host, port: targe.port)
        try reader.login(initiator: "iqn.2026-11.org.targe.test:bench-reader", target: ConfigBuilder.iqn("a"),
                         headerDigest: "None")
        try reader.clearUnitAttentions()

        let stop = Locked(false)
        let samples = Locked<[Double]>([])
        let failure = Locked<String?>(nil)
        let thread = Thread {
            var lba: UInt32 = 0
            while !stop.withLock({ $0 }) {
                let cdb: [UInt8] = [0x28, 0, UInt8(lba >> 24), UInt8(lba >> 16 & 0xff), UInt8(lba >> 8 & 0xff),
                                    UInt8(lba & 0xff), 0, 0, 8, 0]
                let start = DispatchTime.now().uptimeNanoseconds
                do {
                    let r = try reader.execute(cdb, expectedIn: 4096)
                    // A unit attention (the LUN map changed) is an answer too.
                    if r.status != 0 && r.senseKey != 0x06 { throw E2EError("READ: \(r)") }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                    return
                }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                samples.withLock { $0.append(elapsed) }
                lba = (lba + 8) % 100_000
            }
        }
        thread.start()
        Thread.sleep(forTimeInterval: 1)
        let quiet = samples.withLock { $0.max() ?? 0 }
        samples.withLock { $0 = [] }
        var reloadTimes: [Double] = []
        for i in 0..<reloads {
            try config(extra: i % 2 == 0).render(dir: targe.dir.path)
                .write(toFile: targe.configPath, atomically: true, encoding: .utf8)
            let result = runTool(targe.binary, ["reload", "--config", targe.configPath], timeout: 120)
            XCTAssertEqual(result.status, 0, "\(result)")
            reloadTimes.append(result.seconds * 1000)
            Thread.sleep(forTimeInterval: 0.2)
        }
        stop.withLock { $0 = true }
        while thread.isExecuting { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertNil(failure.withLock { $0 }, "the reader failed during the reloads")
        for s in idle { XCTAssertNoThrow(try s.ping(), "an idle session did not survive the reloads") }
        let sorted = samples.withLock { $0 }.sorted()
        let median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        let reloadMedian = reloadTimes.sorted()[reloadTimes.count / 2]
        print(String(format: "[bench] reload pause: %d sessions, %d reloads, %d reads: median %.3f ms, longest %.1f ms (longest before the reloads %.1f ms); targe reload took median %.0f ms",
                     sessions, reloads, sorted.count, median, sorted.last ?? 0, quiet, reloadMedian))
    }
}
