// libiscsi's conformance suite (iscsi-test-cu, family ALL, destructive and sanitize tests
// allowed, a second URL to the same LUN for the multipath tests) against a 64 MiB file LUN,
// through scripts/iscsi-test-cu.sh so `make test` and a person at a shell run exactly the
// same thing; then smaller runs through mutual CHAP and against a read-only target. Failures above TARGE_CU_MAX_FAILURES (default 0) fail the test.
import Foundation
import XCTest

final class ConformanceTests: EndToEndTestCase {
    /// A target with one 16 MiB file LUN, from `section` (a `[target NAME]` section for lun 0
    /// of device disk0).
    private func startSingleLUNTarget(_ section: String) throws -> TargeProcess {
        var config = ConfigBuilder()
        config.fileDevice("disk0", size: "16MiB")
        config.raw(section)
        return try startTarge(config)
    }

    /// scripts/iscsi-test-cu.sh on `url` with a test selection; its report is printed.
    private func runSuite(_ url: String, tests: String, environment: [String: String] = [:],
                          targe: TargeProcess) throws -> ToolResult {
        _ = try Tools.iscsiTestCU()
        let script = Paths.scripts.appendingPathComponent("iscsi-test-cu.sh").path
        let result = runTool("/bin/bash", [script, url], timeout: 660, environment: [
            "TARGE_CU_TESTS": tests, "TARGE_CU_TIMEOUT": "600",
        ].merging(environment) { _, new in new }, abortIf: targe.abortIfDead)
        print(result.stdout)
        return result
    }

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
        // The same LUN again as the multipath URL: the MultipathIO tests and every test that
        // needs a second I_T nexus (reservations, unit attentions) use it, with -I's name.
        let args = [script, url, url]
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

    /// The suite's login-heavy families through mutual CHAP: every one of its logins (many
    /// per test) authenticates both ways, with the credentials in the URL and the target's
    /// in libiscsi's environment variables.
    func testLibiscsiSuiteThroughMutualCHAP() throws {
        let targe = try startSingleLUNTarget("[target chap]\nlun 0 disk0\nincoming suite suite-secret-12\noutgoing storage1 target-secret-9")
        let url = "iscsi://suite%suite-secret-12@\(targe.portal)/\(ConfigBuilder.iqn("chap"))/0"
        let result = try runSuite(url, tests: "iSCSI,SCSI.Inquiry,SCSI.TestUnitReady,SCSI.Read10,SCSI.Write10", environment: [
            "LIBISCSI_CHAP_TARGET_USERNAME": "storage1", "LIBISCSI_CHAP_TARGET_PASSWORD": "target-secret-9",
        ], targe: targe)
        XCTAssertTrue(result.succeeded, "iscsi-test-cu through mutual CHAP: \(result.outcome)\n\(tail(result.stdout, lines: 5))")
        let counts = result.stdout.split(separator: "\n").last { $0.hasPrefix("iscsi-test-cu: ") && $0.contains(" passed") }
        let passed = counts.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        XCTAssertGreaterThan(passed, 20, "the suite ran its tests through CHAP: \(counts ?? "no counts")")
        let log = (try? String(contentsOfFile: targe.stderrPath, encoding: .utf8)) ?? ""
        XCTAssertFalse(log.contains("wrong CHAP response"), "no failed CHAP logins\n\(targe.diagnostics)")
        assertAlive(targe, "after the suite through CHAP")
    }

    /// The suite's read-only tests against a target with `access ro`: every write-type
    /// command fails DATA PROTECT / WRITE PROTECTED and MODE SENSE says WP.
    func testLibiscsiReadOnlyTestsOnAReadOnlyTarget() throws {
        let targe = try startSingleLUNTarget("[target ro]\nlun 0 disk0\naccess ro")
        let result = try runSuite(targe.lunURL(target: "ro"), tests: "ALL.ReadOnly", targe: targe)
        XCTAssertTrue(result.succeeded, "iscsi-test-cu ReadOnly: \(result.outcome)\n\(tail(result.stdout, lines: 5))")
        // ReadOnlySBC counts as "skipped" in the script's table because it skips the opcodes
        // we do not implement; what it checked is in CUnit's assert count.
        let logPath = result.stdout.split(separator: "\n").first { $0.hasPrefix("iscsi-test-cu: log ") }
            .map { String($0.dropFirst("iscsi-test-cu: log ".count)) }
        let log = logPath.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
        let asserts = log.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("asserts") }
            .map { $0.split(separator: " ").compactMap { Int($0) } } ?? []
        XCTAssertEqual(asserts.count, 4, "CUnit's asserts line (total, ran, passed, failed): \(asserts)\n\(log)")
        if asserts.count == 4 {
            XCTAssertGreaterThanOrEqual(asserts[2], 10, "write commands were refused as write-protected")
            XCTAssertEqual(asserts[3], 0, "no assert failed")
        }
        assertAlive(targe, "after the read-only tests")
    }
}
