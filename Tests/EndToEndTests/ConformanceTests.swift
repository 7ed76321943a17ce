// libiscsi's conformance suite (iscsi-test-cu, family ALL, destructive tests allowed) against a
// 64 MiB file LUN, through scripts/iscsi-test-cu.sh so `make test` and a person at a shell run
// exactly the same thing. Failures above TARGE_CU_MAX_FAILURES (default 0) fail the test.
import Foundation
import XCTest

final class ConformanceTests: EndToEndTestCase {
    func testLibiscsiConformanceSuite() throws {
        _ = try Tools.iscsiTestCU()
        let script = Paths.scripts.appendingPathComponent("iscsi-test-cu.sh").path
        guard FileManager.default.fileExists(atPath: script) else {
            XCTFail("\(script) is missing")
            return
        }
        var config = ConfigBuilder()
        config.fileDevice("disk0", size: "64MiB")
        config.target("disk", luns: ["disk0"])
        let targe = try startTarge(config)

        let url = targe.lunURL(target: "disk")
        var args = [script, url]
        // Opt-in: the same LUN again as the multipath URL (second I_T nexus, -I initiator).
        if ProcessInfo.processInfo.environment["TARGE_CU_MULTIPATH"] == "1" { args.append(url) }
        let timeout = Double(ProcessInfo.processInfo.environment["TARGE_CU_TIMEOUT"] ?? "") ?? 1200
        let result = runTool("/bin/bash", args, timeout: timeout + 60, abortIf: targe.abortIfDead)
        // The script's report is the useful part of `make test` output: always show it.
        print(result.stdout)
        if !result.stderr.isEmpty { print(result.stderr) }
        if !result.succeeded {
            // The report printed above has the counts, the failed tests and the log path.
            let budget = ProcessInfo.processInfo.environment["TARGE_CU_MAX_FAILURES"] ?? "0"
            XCTFail("""
                scripts/iscsi-test-cu.sh \(result.outcome): failures over the budget \
                (TARGE_CU_MAX_FAILURES=\(budget)) or an incomplete run; see its report above
                \(tail(result.stdout, lines: 3))
                \(aliveNote(targe))
                """)
        }
        assertAlive(targe, "after the conformance suite")
    }
}
