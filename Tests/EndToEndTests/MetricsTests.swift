// `[server] metrics`: the endpoint checked by promtool, counters that match what real
// initiators did (qemu-img, libiscsi), a mirror member failing, and a real Prometheus
// server scraping the endpoint and computing a write rate.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class MetricsTests: EndToEndTestCase {
    private let mib = 1 << 20

    private func metricsConfig() -> ConfigBuilder {
        var config = ConfigBuilder()
        config.serverLines.append("metrics    127.0.0.1:0")
        return config
    }

    func testEndpointPassesPromtoolAndCountsExactlyWhatQemuWrote() throws {
        let qemu = try Tools.qemuImg()
        let promtool = try Tools.require("promtool", package: "prometheus")
        var config = metricsConfig()
        config.fileDevice("disk", size: "64MiB")
        config.target("m", luns: ["disk"])
        let targe = try startTarge(config)
        let port = try XCTUnwrap(targe.metricsPort, "no `metrics on` line\n\(targe.diagnostics)")

        // Only GET /metrics and GET /healthz answer.
        let health = try XCTUnwrap(httpGet(port: port, path: "/healthz"))
        XCTAssertEqual(health.status, 200, health.body)
        XCTAssertEqual(health.body, "ok\n")
        XCTAssertEqual(httpGet(port: port, path: "/")?.status, 404)
        XCTAssertEqual(httpGet(port: port, path: "/metrics", method: "POST")?.status, 405)
        let before = try targe.scrape()
        XCTAssertEqual(httpGet(port: port, path: "/metrics")?.headers["content-type"],
                       "text/plain; version=0.0.4; charset=utf-8")

        let src = try makeScratchDir().appendingPathComponent("src.img").path
        try writeRandomFile(src, size: 64 * mib)
        let lun = QemuLUN(targe, target: "m", lun: 0)
        assertSucceeded(runTool(qemu, lun.writeArgs(from: src), timeout: 300, abortIf: targe.abortIfDead),
                        "qemu-img convert", targe)
        let written = try targe.scrape()
        let labels = ["target": ConfigBuilder.iqn("m"), "lun": "0"]
        let delta = { (page: MetricsPage, old: MetricsPage, name: String, extra: [String: String]) -> Double in
            let l = labels.merging(extra) { a, _ in a }
            return (page.value(name, l) ?? -1) - (old.value(name, l) ?? 0)
        }
        XCTAssertEqual(delta(written, before, "targe_lu_written_bytes_total", [:]), Double(64 * mib),
                       "the written-bytes counter grows by exactly what qemu-img wrote\n\(written.text)")
        let writes = delta(written, before, "targe_lu_commands_total", ["type": "write"])
        XCTAssertGreaterThan(writes, 0)
        XCTAssertEqual(delta(written, before, "targe_lu_command_duration_seconds_count", ["type": "write"]), writes,
                       "one latency observation per write")
        XCTAssertEqual(written.value("targe_lu_command_duration_seconds_bucket", labels.merging(["type": "write", "le": "+Inf"]) { a, _ in a }),
                       written.value("targe_lu_command_duration_seconds_count", labels.merging(["type": "write"]) { a, _ in a }))
        XCTAssertEqual(written.value("targe_lu_commands_in_flight", labels), 0)
        XCTAssertEqual(written.value("targe_logins_total", ["target": ConfigBuilder.iqn("m"), "outcome": "ok"]),
                       (before.value("targe_logins_total", ["target": ConfigBuilder.iqn("m"), "outcome": "ok"]) ?? 0) + 1)

        let compare = runTool(qemu, lun.compareArgs(with: src), timeout: 300, abortIf: targe.abortIfDead)
        assertSucceeded(compare, "qemu-img compare", targe)
        let read = try targe.scrape()
        XCTAssertGreaterThanOrEqual(delta(read, written, "targe_lu_read_bytes_total", [:]), Double(64 * mib))
        XCTAssertEqual(delta(read, written, "targe_lu_written_bytes_total", [:]), 0, "a compare writes nothing")

        // promtool's checks (names, types, units, HELP) on the page as served.
        let pageFile = targe.dir.appendingPathComponent("metrics.txt").path
        try read.text.write(toFile: pageFile, atomically: true, encoding: .utf8)
        let check = runTool("/bin/sh", ["-c", "\(shellQuote(promtool)) check metrics < \(shellQuote(pageFile))"], timeout: 60)
        XCTAssertTrue(check.succeeded && check.stdout.isEmpty && check.stderr.isEmpty, "promtool check metrics:\n\(check)")

        // `targe status --json` tells the same totals.
        let status = runTool(targe.binary, ["status", "--config", targe.configPath, "--json"], timeout: 30)
        assertSucceeded(status, "targe status --json", targe)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["schema"] as? Int, 1)
        let targets = try XCTUnwrap(json["targets"] as? [[String: Any]])
        let luns = try XCTUnwrap(targets.first?["luns"] as? [[String: Any]])
        let io = try XCTUnwrap(luns.first?["io"] as? [String: Any])
        XCTAssertEqual((io["written_bytes"] as? NSNumber)?.doubleValue, read.value("targe_lu_written_bytes_total", labels))
        XCTAssertEqual((io["read_bytes"] as? NSNumber)?.doubleValue, read.value("targe_lu_read_bytes_total", labels))
    }

    func testCHAPFailuresAndAFailedMirrorMemberShow() throws {
        let inq = try Tools.iscsiInq()
        let qemu = try Tools.qemuImg()
        var config = metricsConfig()
        config.fileDevice("a", size: "32MiB")
        config.fileDevice("b", size: "32MiB")
        config.raw("[combination mirror]\nraid 1\nmembers a b")
        config.raw("[target sec]\nlun 0 mirror\nincoming bob bob-secret-123")
        let targe = try startTarge(config)
        XCTAssertTrue(targe.waitForLog("resync complete"), targe.diagnostics)
        let iqn = ConfigBuilder.iqn("sec")
        let failures = ["target": iqn, "outcome": "chap_failure"]
        let before = try targe.scrape()
        XCTAssertEqual(before.value("targe_raid1_member_state", ["device": "mirror", "member": "b", "state": "healthy"]), 1)

        let wrong = runTool(inq, ["iscsi://bob%not-bobs-secret@\(targe.portal)/\(iqn)/0"], timeout: 30, abortIf: targe.abortIfDead)
        XCTAssertFalse(wrong.succeeded, "\(wrong)")
        let afterWrong = try targe.scrape()
        XCTAssertEqual(afterWrong.value("targe_logins_total", failures), (before.value("targe_logins_total", failures) ?? -1) + 1,
                       "one failed CHAP login counted\n\(afterWrong.text)")
        let good = runTool(inq, ["iscsi://bob%bob-secret-123@\(targe.portal)/\(iqn)/0"], timeout: 30, abortIf: targe.abortIfDead)
        assertSucceeded(good, "CHAP login with the right secret", targe)
        let afterGood = try targe.scrape()
        XCTAssertEqual(afterGood.value("targe_logins_total", failures), afterWrong.value("targe_logins_total", failures))
        XCTAssertEqual(afterGood.value("targe_logins_total", ["target": iqn, "outcome": "ok"]),
                       (afterWrong.value("targe_logins_total", ["target": iqn, "outcome": "ok"]) ?? -1) + 1)

        // Member b is cut short under the LU: reads that reach it fail, it leaves the mirror.
        XCTAssertEqual(truncate(targe.dir.appendingPathComponent("b.img").path, 0), 0)
        let lun = QemuLUN(targe, target: "sec", lun: 0, chap: ("bob", "bob-secret-123"))
        let out = targe.dir.appendingPathComponent("read.img").path
        assertSucceeded(runTool(qemu, lun.readArgs(into: out), timeout: 120, abortIf: targe.abortIfDead),
                        "reading the degraded mirror", targe)
        let degraded = try targe.scrape()
        XCTAssertEqual(degraded.value("targe_raid1_member_state", ["device": "mirror", "member": "b", "state": "failed"]), 1,
                       "\(degraded.text)\n\(targe.diagnostics)")
        XCTAssertEqual(degraded.value("targe_raid1_member_state", ["device": "mirror", "member": "b", "state": "healthy"]), 0)
        XCTAssertEqual(degraded.value("targe_raid1_member_resync_ratio", ["device": "mirror", "member": "b"]), 0)
        XCTAssertEqual(degraded.value("targe_raid1_member_state", ["device": "mirror", "member": "a", "state": "healthy"]), 1)
        // Still serving: 200, with the degraded member named.
        let health = try XCTUnwrap(httpGet(port: targe.metricsPort ?? 0, path: "/healthz"))
        XCTAssertEqual(health.status, 200)
        XCTAssertTrue(health.body.hasPrefix("ok\n") && health.body.contains("degraded: mirror: b: failed"), health.body)
    }

    /// A real Prometheus server scrapes the endpoint every second while qemu-img writes; a
    /// query through its HTTP API returns a non-zero write rate for the LU.
    func testPrometheusScrapesAWriteRate() throws {
        let prometheus = try Tools.require("prometheus", package: "prometheus")
        let qemu = try Tools.qemuImg()
        var config = metricsConfig()
        config.ramDevice("ram0", size: "64MiB")
        config.target("p", luns: ["ram0"])
        let targe = try startTarge(config)
        let metricsPort = try XCTUnwrap(targe.metricsPort)
        let dir = try makeScratchDir()
        let webPort = try freeLoopbackPort()
        let promConfig = dir.appendingPathComponent("prometheus.yml").path
        try """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: targe
                static_configs:
                  - targets: ['127.0.0.1:\(metricsPort)']
            """.write(toFile: promConfig, atomically: true, encoding: .utf8)
        let server = RunningTool(prometheus, [
            "--config.file=\(promConfig)", "--storage.tsdb.path=\(dir.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(webPort)", "--log.level=warn",
        ])
        var serverResult: ToolResult?
        func stopServer() -> ToolResult {
            if let serverResult { return serverResult }
            signalChild(server.pid, SIGTERM)
            let result = server.wait(timeout: 30)
            serverResult = result
            return result
        }
        defer { _ = stopServer() }

        func query(_ promQL: String) -> Double? {
            let encoded = promQL.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            guard let answer = httpGet(port: webPort, path: "/api/v1/query?query=\(encoded)"), answer.status == 200,
                  let json = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
                  let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]],
                  let first = result.first, let value = first["value"] as? [Any], let text = value.last as? String
            else { return nil }
            return Double(text)
        }
        // Up and scraped before the writes start.
        let upDeadline = Date().addingTimeInterval(60)
        while query("up{job=\"targe\"}") != 1 && Date() < upDeadline { usleep(250_000) }
        guard query("up{job=\"targe\"}") == 1 else { return XCTFail("Prometheus never scraped targe\n\(stopServer())") }

        let lun = QemuLUN(targe, target: "p", lun: 0)
        let rate = "rate(targe_lu_written_bytes_total{target=\"\(ConfigBuilder.iqn("p"))\",lun=\"0\"}[5s])"
        var seen: Double?
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            // A few seconds of 4 KiB writes, then ask.
            let bench = runTool(qemu, ["bench", "-w", "-t", "none", "-c", "20000", "-d", "8", "-s", "4096",
                                       "--image-opts", lun.imageOpts], timeout: 120, abortIf: targe.abortIfDead)
            assertSucceeded(bench, "qemu-img bench -w", targe)
            if let value = query(rate), value > 0 {
                seen = value
                break
            }
        }
        XCTAssertNotNil(seen, "Prometheus saw no write rate: \(rate)\n\(stopServer())")
    }
}
