// Data integrity through qemu-img's iscsi driver (libiscsi) under different negotiated settings.
import Foundation
import XCTest

final class RoundTripTests: EndToEndTestCase {
    private static let lunSize = 64 << 20

    /// Starts targe with a 64 MiB file LUN and the given [connection] overrides, then runs
    /// the write / compare / read-back round trip.
    private func roundTrip(_ overrides: [(String, String)], headerDigest: String? = nil,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        _ = try Tools.qemuImg()
        var config = ConfigBuilder()
        for (k, v) in overrides { config.set(k, v) }
        config.fileDevice("disk0", size: "64MiB")
        config.target("disk", luns: ["disk0"])
        let targe = try startTarge(config)
        print("[e2e] \(name): connection \(overrides.map { "\($0.0)=\($0.1)" }.joined(separator: " "))"
              + (headerDigest.map { ", qemu header-digest=\($0)" } ?? ""))
        try qemuRoundTrip(targe, target: "disk", size: Self.lunSize, headerDigest: headerDigest,
                          file: file, line: line)
    }

    // InitialR2T x ImmediateData

    func testRoundTripInitialR2TYesImmediateDataNo() throws {
        try roundTrip([("InitialR2T", "Yes"), ("ImmediateData", "No")])
    }

    func testRoundTripInitialR2TYesImmediateDataYes() throws {
        try roundTrip([("InitialR2T", "Yes"), ("ImmediateData", "Yes")])
    }

    func testRoundTripInitialR2TNoImmediateDataNo() throws {
        try roundTrip([("InitialR2T", "No"), ("ImmediateData", "No")])
    }

    func testRoundTripInitialR2TNoImmediateDataYes() throws {
        try roundTrip([("InitialR2T", "No"), ("ImmediateData", "Yes")])
    }

    // Digests, small segments, small bursts

    func testRoundTripWithRequiredHeaderDigest() throws {
        try roundTrip([("HeaderDigest", "CRC32C")], headerDigest: "crc32c")
    }

    /// With no digest keys in the file, an initiator that requires HeaderDigest=CRC32C (as an
    /// open-iscsi node record can) logs in and moves data, and the initiator's order picks
    /// between the two: "None,CRC32C" gets None, "CRC32C,None" gets CRC32C.
    func testDefaultConfigLetsTheInitiatorsOrderPickTheDigest() throws {
        _ = try Tools.qemuImg()
        var config = ConfigBuilder()
        config.unset("HeaderDigest")
        config.unset("DataDigest")
        config.fileDevice("disk0", size: "64MiB")
        config.target("disk", luns: ["disk0"])
        let targe = try startTarge(config)
        try qemuRoundTrip(targe, target: "disk", size: Self.lunSize, headerDigest: "crc32c")
        let cases: [(offer: String, data: String, header: Bool, dataDigest: Bool)] = [
            ("None,CRC32C", "None,CRC32C", false, false), ("CRC32C,None", "CRC32C,None", true, true),
            ("CRC32C", "None", true, false), ("None", "CRC32C", false, true),
        ]
        for c in cases {
            let s = try RawSession(host: targe.host, port: targe.port)
            try s.login(initiator: "iqn.2026-11.org.targe.test:e2e-digest-order", target: ConfigBuilder.iqn("disk"),
                        headerDigest: c.offer, dataDigest: c.data)
            XCTAssertEqual(s.negotiated["HeaderDigest"], c.header ? "CRC32C" : "None", "HeaderDigest=\(c.offer)")
            XCTAssertEqual(s.negotiated["DataDigest"], c.dataDigest ? "CRC32C" : "None", "DataDigest=\(c.data)")
            XCTAssertEqual(s.headerDigest, c.header)
            XCTAssertEqual(s.dataDigest, c.dataDigest)
            try s.ping()
            s.conn.close()
        }
    }

    func testLoginWithoutHeaderDigestFailsWhenTargetRequiresIt() throws {
        let qemu = try Tools.qemuImg()
        var config = ConfigBuilder()
        config.set("HeaderDigest", "CRC32C")
        config.fileDevice("disk0", size: "64MiB")
        config.target("disk", luns: ["disk0"])
        let targe = try startTarge(config)
        var lun = QemuLUN(targe, target: "disk")
        lun.headerDigest = "crc32c"    // control: the same login with CRC32C works
        let control = runTool(qemu, ["info", "--image-opts", lun.imageOpts], timeout: 60, abortIf: targe.abortIfDead)
        assertSucceeded(control, "qemu-img info with header-digest=crc32c (control)", targe)
        lun.headerDigest = "none"
        let result = runTool(qemu, ["info", "--image-opts", lun.imageOpts], timeout: 60, abortIf: targe.abortIfDead)
        print("[e2e] qemu-img info with header-digest=none: \(result.outcome)")
        XCTAssertFalse(result.succeeded,
                       "an initiator offering only HeaderDigest=None logged in to a target that requires CRC32C:\n\(result)")
        XCTAssertFalse(result.timedOut, "login should fail promptly, not hang:\n\(result)")
        assertAlive(targe, "after a refused login")
    }

    func testRoundTripWithMaxRecvDataSegmentLength512() throws {
        try roundTrip([("MaxRecvDataSegmentLength", "512")])
    }

    func testRoundTripWithMaxBurstAndFirstBurst8192() throws {
        try roundTrip([("MaxBurstLength", "8192"), ("FirstBurstLength", "8192"),
                       ("InitialR2T", "No"), ("ImmediateData", "Yes")])
    }

    /// Eight qemu-img processes (eight sessions, distinct initiator names) each write, then
    /// each compare, a distinct 8 MiB region of one 64 MiB LUN at the same time; then the
    /// whole LUN is read back and compared with the eight sources end to end.
    func testEightConcurrentSessions() throws {
        let qemu = try Tools.qemuImg()
        var config = ConfigBuilder()
        config.fileDevice("disk0", size: "64MiB")
        config.target("disk", luns: ["disk0"])
        let targe = try startTarge(config)
        let dir = try makeScratchDir()
        let region = 8 << 20
        let count = 8

        var sources: [String] = []
        var luns: [QemuLUN] = []
        for i in 0..<count {
            let src = dir.appendingPathComponent("region\(i).img").path
            try writeRandomFile(src, size: region)
            sources.append(src)
            var lun = QemuLUN(targe, target: "disk")
            lun.offset = i * region
            lun.size = region
            lun.initiatorName = "iqn.2026-11.org.targe.test:e2e-session\(i)"
            luns.append(lun)
        }

        func concurrently(_ what: String, _ args: (Int) -> [String]) -> [ToolResult] {
            let started = (0..<count).map { RunningTool(qemu, args($0)) }
            let results = started.map { $0.wait(timeout: 300, abortIf: targe.abortIfDead) }
            for (i, r) in results.enumerated() {
                print("[e2e] session \(i) \(what): \(r.outcome)")
                assertSucceeded(r, "\(what) of region \(i) (session \(i))", targe)
            }
            return results
        }

        let writes = concurrently("write") { luns[$0].writeArgs(from: sources[$0]) }
        guard writes.allSatisfy(\.succeeded) else { return }
        let compares = concurrently("compare") { luns[$0].compareArgs(with: sources[$0]) }
        for (i, r) in compares.enumerated() where r.succeeded {
            XCTAssertTrue(r.stdout.contains("Images are identical"), "region \(i):\n\(r)")
        }

        // Whole-LUN read back against the concatenated sources.
        let whole = dir.appendingPathComponent("whole-src.img").path
        let back = dir.appendingPathComponent("whole-readback.img").path
        try concatenate(sources, into: whole)
        var all = QemuLUN(targe, target: "disk")
        all.initiatorName = "iqn.2026-11.org.targe.test:e2e-readback"
        let read = runTool(qemu, all.readArgs(into: back), timeout: 300, abortIf: targe.abortIfDead)
        assertSucceeded(read, "qemu-img convert (read the whole LUN back)", targe)
        if read.succeeded, let diff = firstDifference(whole, back) {
            XCTFail("whole LUN differs from the eight regions written: \(diff)")
        }
        assertAlive(targe, "after eight concurrent sessions")
    }
}

final class RamDiskTests: EndToEndTestCase {
    func testRamDiskRoundTrip16MiB() throws {
        _ = try Tools.qemuImg()
        var config = ConfigBuilder()
        config.ramDevice("ram0", size: "16MiB")
        config.target("ram", luns: ["ram0"])
        let targe = try startTarge(config)
        try qemuRoundTrip(targe, target: "ram", size: 16 << 20)
    }
}
