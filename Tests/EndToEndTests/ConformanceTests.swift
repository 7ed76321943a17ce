// libiscsi's conformance suite (iscsi-test-cu, every family, destructive and sanitize tests
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
            "TARGE_CU_TESTS": tests, "TARGE_CU_TIMEOUT": "600", "TARGE_CU_LOG_DIR": Self.logDir(targe),
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
        // Every family, as `iscsi-test-cu -d -S URL URL` runs with no -t (615 tests, in the
        // tool's own order: a -t list reorders them, and libiscsi 1.19's
        // MultipathIO.CompareAndWrite then trips over its own off-by-one, comparing block 256
        // that it never wrote). Its two Sanitize.Reset tests fail on any target and are known
        // here by name and message: with a multipath URL, Sanitize.Reservations leaves the
        // second URL's session holding a RESERVE(6) (libiscsi releases it only for a session
        // it cloned), so their SANITIZE and TEST UNIT READY meet RESERVATION CONFLICT, not a
        // sanitize in progress (README: the trace). They run and pass on their own below.
        let result = runTool("/bin/bash", args, timeout: timeout + 60,
                             environment: ["TARGE_CU_TESTS": "", "TARGE_CU_KNOWN": Self.knownFailures,
                                           "TARGE_CU_LOG_DIR": Self.logDir(targe)],
                             abortIf: targe.abortIfDead)
        let table = (try? String(contentsOfFile: Self.logDir(targe) + "/results.tsv", encoding: .utf8)) ?? ""
        let known = table.split(separator: "\n").filter { $0.split(separator: "\t").dropFirst().first == "known" }
        XCTAssertLessThanOrEqual(known.count, 2, "only the two Sanitize.Reset tests may be known failures:\n\(known)")
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
        let log = (try? String(contentsOfFile: targe.stderrPath, encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains("sanitize (overwrite"), "an overwrite ran\n\(targe.diagnostics)")
        XCTAssertTrue(log.contains("sanitize (block erase)"), "a block erase ran\n\(targe.diagnostics)")
        assertAlive(targe, "after the conformance suite")
    }

    /// The tests `testLibiscsiSanitizeResetTests` runs on their own.
    static let sanitizeResetTests: Set<String> = ["ALL.Sanitize.Reset", "SCSI.Sanitize.Reset"]
    /// TARGE_CU_KNOWN for the whole-suite run: the Sanitize.Reset tests (ALL's and SCSI's),
    /// only with the message of the leftover reservation.
    static let knownFailures = "Sanitize.Reset:have failed with NOT READY(0x02)/SANITIZE_IN_PROGRESS(0x041b)"

    /// The two Sanitize.Reset tests with one URL (no session left holding a reservation), on
    /// a 64 MiB LU whose overwrites are paced at 6 MiB/s (`sanitize-rate`): each takes about
    /// 11 s, so the test finds its sanitize still running after its 3 s wait, four task
    /// management functions and a new login, as on a real disk. About 3 minutes, most of it
    /// the tests' one-minute polls.
    func testLibiscsiSanitizeResetTests() throws {
        var config = ConfigBuilder()
        config.fileDevice("disk0", size: "64MiB")
        config.target("sanitize", luns: ["disk0"])
        config.sanitizeRate = "6MiB"
        // The Reset test polls TEST UNIT READY once a minute and libiscsi answers no NOP-In
        // while it sleeps: a shorter NOP timeout drops its session each time, and the new
        // session's POWER ON unit attention fails every poll, forever.
        config.timeouts = config.timeouts.map { $0.key == "nop-timeout" ? ("nop-timeout", "90") : $0 }
        let targe = try startTarge(config)
        let result = try runSuite(targe.lunURL(target: "sanitize"), tests: Self.sanitizeResetTests.sorted().joined(separator: ","),
                                  targe: targe)
        XCTAssertTrue(result.succeeded, "iscsi-test-cu Sanitize.Reset: \(result.outcome)\n\(tail(result.stdout, lines: 5))")
        XCTAssertTrue(result.stdout.contains("2 passed, 0 failed, 0 skipped"), "both Reset tests ran and passed:\n\(result.stdout)")
        let log = (try? String(contentsOfFile: targe.stderrPath, encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains("sanitize (overwrite"), "an overwrite ran\n\(targe.diagnostics)")
        assertAlive(targe, "after the Sanitize.Reset tests")
    }

    /// Where the script keeps its log and result table: in the test's scratch directory,
    /// removed when the test passes and kept for inspection when it fails.
    static func logDir(_ targe: TargeProcess) -> String {
        targe.dir.appendingPathComponent("iscsi-test-cu").path
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
