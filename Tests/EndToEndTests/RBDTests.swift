// RBD devices against a real single-node Ceph cluster (scripts/ceph-test-cluster.sh: one
// mon, one mgr, one bluestore OSD on 127.0.0.1, in a temporary directory), with qemu-img as
// the initiator and `rbd export` as the judge of what reached the cluster.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class RBDTests: EndToEndTestCase {
    /// The cluster of this test class: started once, stopped after the last test.
    nonisolated(unsafe) static var clusterDir: URL?
    nonisolated(unsafe) private static var clusterFailure: String?

    private static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/ceph-test-cluster.sh").path
    }

    override class func setUp() {
        super.setUp()
        guard Tools.find("ceph-mon") != nil, Tools.find("ceph-osd") != nil, Tools.find("rbd") != nil else {
            clusterFailure = "skip: ceph-mon, ceph-osd or rbd is not installed (Debian packages ceph-mon ceph-mgr ceph-osd ceph-common)"
            return
        }
        do {
            let dir = try makeTempDir(prefix: "targe-ceph")
            let started = runTool("/bin/bash", [script, "start", dir.path], timeout: 180)
            if started.succeeded {
                clusterDir = dir
            } else {
                _ = runTool("/bin/bash", [script, "stop", dir.path], timeout: 60)
                clusterFailure = "the test cluster did not start:\n\(started)"
                try? FileManager.default.removeItem(at: dir)
            }
        } catch {
            clusterFailure = "\(error)"
        }
    }

    override class func tearDown() {
        if let dir = clusterDir {
            _ = runTool("/bin/bash", [script, "stop", dir.path], timeout: 60)
            try? FileManager.default.removeItem(at: dir)
            clusterDir = nil
        }
        super.tearDown()
    }

    /// The cluster's ceph.conf, or a skip/failure when there is none.
    func cluster() throws -> String {
        if let failure = Self.clusterFailure {
            if failure.hasPrefix("skip: ") { throw XCTSkip(String(failure.dropFirst(6))) }
            throw E2EError(failure)
        }
        return try XCTUnwrap(Self.clusterDir).appendingPathComponent("ceph.conf").path
    }

    func rbd(_ conf: String, _ arguments: [String]) -> ToolResult {
        runTool(Tools.find("rbd") ?? "/usr/bin/rbd", ["--conf", conf] + arguments, timeout: 120)
    }

    private func config(conf: String, image: String) -> ConfigBuilder {
        var config = ConfigBuilder()
        config.serverLines.append("metrics    127.0.0.1:0")
        config.raw("[device vm]\nrbd rbd/\(image)\nceph-conf \(conf)")
        config.target("ceph", luns: ["vm"])
        return config
    }

    /// qemu-img writes through Targe into an image; everything it was told is written (its
    /// convert ends with SYNCHRONIZE CACHE) is in the cluster after Targe is killed with -9,
    /// byte for byte as `rbd export` reads it, and Targe serves it again after a restart.
    func testWritesReachTheClusterAndSurviveKill9() throws {
        let conf = try cluster()
        let qemu = try Tools.qemuImg()
        let mib = 1 << 20
        assertSucceeded(rbd(conf, ["create", "rbd/kill9", "--size", "64M"]), "rbd create", nil)
        let targe = try startTarge(config(conf: conf, image: "kill9"))
        let dir = try makeScratchDir()
        let src = dir.appendingPathComponent("src.img").path
        try writeRandomFile(src, size: 64 * mib)
        let lun = QemuLUN(targe, target: "ceph")
        assertSucceeded(runTool(qemu, lun.writeArgs(from: src), timeout: 300, abortIf: targe.abortIfDead), "qemu-img convert", targe)
        XCTAssertEqual(kill(targe.pid, SIGKILL), 0)
        _ = targe.stop()

        let exported = dir.appendingPathComponent("exported.img").path
        assertSucceeded(rbd(conf, ["export", "rbd/kill9", exported]), "rbd export", nil)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: exported)), try Data(contentsOf: URL(fileURLWithPath: src)),
                       "what Targe acknowledged as flushed is in the cluster")

        // The killed instance's exclusive lock lapses with its watch (5 s in the test
        // cluster, 30 s by default); the restarted one takes it over when it next writes.
        try targe.start()
        let again = QemuLUN(targe, target: "ceph")  // a new port
        assertSucceeded(runTool(qemu, again.writeArgs(from: src), timeout: 300, abortIf: targe.abortIfDead),
                        "qemu-img convert after the restart", targe)
        let compare = runTool(qemu, again.compareArgs(with: src), timeout: 300, abortIf: targe.abortIfDead)
        assertSucceeded(compare, "qemu-img compare after the restart", targe)
        XCTAssertTrue(compare.stdout.contains("Images are identical"), "\(compare)")
        let status = runTool(targe.binary, ["status", "--config", targe.configPath], timeout: 30)
        XCTAssertTrue(status.stdout.contains("vm: rbd, 64 MiB, rbd:rbd/kill9"), "\(status)")
    }

    /// A device whose image is not there (or whose cluster cannot be reached) does not stop
    /// the target: its LU answers NOT READY, BECOMING READY while the image is tried again
    /// every few seconds; once the image exists the LU serves it, with its size.
    func testAMissingImageLeavesTheLUNotReadyUntilItAppears() throws {
        let conf = try cluster()
        let qemu = try Tools.qemuImg()
        let readCapacity = try Tools.iscsiReadCapacity16()
        let targe = try startTarge(config(conf: conf, image: "later"))
        let url = targe.lunURL(target: "ceph")
        let early = runTool(readCapacity, [url], timeout: 60, abortIf: targe.abortIfDead)
        XCTAssertFalse(early.succeeded, "READ CAPACITY of a missing image must fail:\n\(early)")
        XCTAssertTrue((early.stdout + early.stderr).contains("NOT READY(2) ASCQ:(null)(0x0401)"),
                      "expected NOT READY, BECOMING READY (04/01):\n\(early)")
        XCTAssertTrue(targe.waitForLog("cannot open RBD image rbd/later", timeout: 10), targe.diagnostics)
        XCTAssertEqual(try targe.scrape().value("targe_device_ready", ["device": "vm"]), 0)

        assertSucceeded(rbd(conf, ["create", "rbd/later", "--size", "32M"]), "rbd create", targe)
        var capacity: ToolResult?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let r = runTool(readCapacity, [url], timeout: 60, abortIf: targe.abortIfDead)
            if r.succeeded { capacity = r; break }
            usleep(500_000)
        }
        let answer = try XCTUnwrap(capacity, "the LU never became ready\n\(targe.diagnostics)")
        XCTAssertEqual(try targe.scrape().value("targe_device_ready", ["device": "vm"]), 1)
        XCTAssertTrue(answer.stdout.contains("RETURNED LOGICAL BLOCK ADDRESS:65535"), "32 MiB of 512-byte blocks:\n\(answer)")
        let src = try makeScratchDir().appendingPathComponent("src.img").path
        try writeRandomFile(src, size: 32 << 20)
        let lun = QemuLUN(targe, target: "ceph")
        assertSucceeded(runTool(qemu, lun.writeArgs(from: src), timeout: 300, abortIf: targe.abortIfDead), "qemu-img convert", targe)
        assertSucceeded(runTool(qemu, lun.compareArgs(with: src), timeout: 300, abortIf: targe.abortIfDead), "qemu-img compare", targe)
    }

    /// `rbd resize` in the cluster while Targe serves the image: the header watch sees it and
    /// the LU's capacity follows (initiators get CAPACITY DATA HAS CHANGED).
    func testAResizeInTheClusterGrowsTheLU() throws {
        let conf = try cluster()
        let qemu = try Tools.qemuImg()
        let readCapacity = try Tools.iscsiReadCapacity16()
        assertSucceeded(rbd(conf, ["create", "rbd/grow", "--size", "32M"]), "rbd create", nil)
        let targe = try startTarge(config(conf: conf, image: "grow"))
        let out = try makeScratchDir().appendingPathComponent("read.img").path
        assertSucceeded(runTool(qemu, QemuLUN(targe, target: "ceph").readArgs(into: out), timeout: 120, abortIf: targe.abortIfDead),
                        "qemu-img reads the image once", targe)
        assertSucceeded(rbd(conf, ["resize", "rbd/grow", "--size", "64M"]), "rbd resize", targe)
        XCTAssertTrue(targe.waitForLog("grew from 33554432 to 67108864 bytes", timeout: 30), targe.diagnostics)
        var last = ""
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let r = runTool(readCapacity, [targe.lunURL(target: "ceph")], timeout: 60, abortIf: targe.abortIfDead)
            last = r.stdout + r.stderr
            if last.contains("RETURNED LOGICAL BLOCK ADDRESS:131071") { break }
            usleep(300_000)
        }
        XCTAssertTrue(last.contains("RETURNED LOGICAL BLOCK ADDRESS:131071"), "64 MiB after the resize:\n\(last)")
    }

    /// libiscsi's whole conformance suite (every family, -d -S, the LUN again as the multipath
    /// URL, as ConformanceTests runs it on a file) against an RBD image served by the active one
    /// of two gateways, the other standing by: 0 failures, the same two known libiscsi
    /// Sanitize.Reset failures as on a file LU.
    func testLibiscsiConformanceSuiteOnAGatewayLU() throws {
        let conf = try cluster()
        _ = try Tools.iscsiTestCU()
        assertSucceeded(rbd(conf, ["create", "rbd/cu", "--size", "64M"]), "rbd create", nil)
        let gateways = try startGatewayPair(conf: conf, image: "cu")
        let script = Paths.scripts.appendingPathComponent("iscsi-test-cu.sh").path
        let url = gateways.a.lunURL(target: "shared")
        let logDir = try makeScratchDir().path
        let run = runTool("/bin/bash", [script, url, url], timeout: 1500,
                          environment: ["TARGE_CU_TESTS": "", "TARGE_CU_TIMEOUT": "1400",
                                        "TARGE_CU_KNOWN": ConformanceTests.knownFailures, "TARGE_CU_LOG_DIR": logDir],
                          abortIf: gateways.a.abortIfDead)
        print(run.stdout)
        XCTAssertTrue(run.succeeded && run.stdout.contains(" passed, 0 failed"), "\(run)")
        let table = (try? String(contentsOfFile: logDir + "/results.tsv", encoding: .utf8)) ?? ""
        let known = table.split(separator: "\n").filter { $0.split(separator: "\t").dropFirst().first == "known" }
        XCTAssertLessThanOrEqual(known.count, 2, "only the two Sanitize.Reset tests may be known failures:\n\(known)")
    }
}
