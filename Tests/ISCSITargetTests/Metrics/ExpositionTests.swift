@testable import DeviceServer
@testable import ISCSITarget
import NIOCore
import NIOEmbedded
import SCSI
import Storage
import XCTest

final class ExpositionTests: XCTestCase {
    func testLabelValuesAndHelpAreEscaped() {
        var out = Exposition()
        out.family("x_total", .counter, help: "a \\ b\nc")
        out.sample("x_total", ["name": "q\"uote\\back\nline"], UInt64(3))
        XCTAssertEqual(out.text, """
            # HELP x_total a \\\\ b\\nc
            # TYPE x_total counter
            x_total{name="q\\"uote\\\\back\\nline"} 3

            """)
    }

    func testHistogramBucketsAreCumulativeAndEndWithSumAndCount() {
        var out = Exposition()
        out.histogram("h_seconds", ["a": "1"], bounds: ["0.1", "1"], counts: [2, 0, 3], sum: 7.5)
        XCTAssertEqual(out.text.split(separator: "\n"), [
            "h_seconds_bucket{a=\"1\",le=\"0.1\"} 2",
            "h_seconds_bucket{a=\"1\",le=\"1\"} 2",
            "h_seconds_bucket{a=\"1\",le=\"+Inf\"} 5",
            "h_seconds_sum{a=\"1\"} 7.5",
            "h_seconds_count{a=\"1\"} 5",
        ])
    }

    func testFloatsAreWrittenAsPrometheusReadsThem() {
        let table: [(Double, String)] = [(0, "0"), (10, "10"), (0.00025, "0.00025"), (1.5, "1.5"), (.infinity, "+Inf"),
                                          (-.infinity, "-Inf"), (.nan, "NaN"), (1e20, "1e+20")]
        for (value, text) in table { XCTAssertEqual(Exposition.format(value), text) }
        XCTAssertEqual(MetricsReport.latencyBounds.first, "0.0001")
        XCTAssertEqual(MetricsReport.latencyBounds.last, "10")
    }

    func testJSONEscapesEverythingAStringMayHold() {
        let value = JSONValue.object([("a", .string("q\"\\\n\t\u{1}é")), ("b", .array([.integer(-1), .unsigned(2), .null])),
                                      ("c", .number(0.5)), ("d", .bool(true)), ("e", .number(.nan))])
        XCTAssertEqual(value.text, #"{"a":"q\"\\\n\t\u0001é","b":[-1,2,null],"c":0.5,"d":true,"e":null}"#)
    }

    /// A report over a catalog with a mirror: every family once, with HELP and TYPE before its
    /// samples; each LU's series labelled by target and LUN; members' states as a set.
    func testReportOverACatalog() throws {
        let loop = EmbeddedEventLoop()
        let mirror = try RAID1Device(name: "m", members: try (0..<2).map { try RAMDevice(name: "r\($0)", size: 1 << 20) })
        defer { mirror.close() }
        let plain = try RAMDevice(name: "plain", size: 1 << 20)
        let units: [UInt64: LogicalUnit] = [
            0: LogicalUnit(info: LogicalUnitInfo(blockCount: 2048, targetName: "iqn.2026-12.org.test:t", deviceName: "plain"),
                           device: plain),
            3: LogicalUnit(info: LogicalUnitInfo(blockCount: 2048, targetName: "iqn.2026-12.org.test:t", deviceName: "m"),
                           device: mirror),
        ]
        units[3]!.metrics.record(.write, bytes: 8192, latencyNanoseconds: 2_000_000, status: .good, senseKey: nil, on: loop)
        units[3]!.metrics.record(.read, bytes: 0, latencyNanoseconds: 1, status: .checkCondition, senseKey: .blankCheck, on: loop)
        let catalog = TargetCatalog(targets: [ExportedTarget(name: "iqn.2026-12.org.test:t", alias: nil, units: units)])
        let registry = SessionRegistry(catalog: catalog)
        registry.activity.login(target: "iqn.2026-12.org.test:t", outcome: .chapFailure)
        registry.activity.taskManagement(target: "iqn.2026-12.org.test:t", function: .logicalUnitReset)
        let text = MetricsReport.capture(registry: registry, process: nil, startTime: 1_700_000_000).render()
        let lines = text.split(separator: "\n")

        var families: [String] = []
        var current: String?
        for line in lines {
            if line.hasPrefix("# HELP ") {
                let name = String(line.split(separator: " ")[2])
                XCTAssertFalse(families.contains(name), "family \(name) twice")
                families.append(name)
                current = name
            } else if line.hasPrefix("# TYPE ") {
                XCTAssertEqual(String(line.split(separator: " ")[2]), current)
            } else {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                let family = try XCTUnwrap(current, "sample before any family: \(line)")
                XCTAssertTrue(name == family || name.hasPrefix(family + "_"), "\(name) outside its family \(family)")
            }
        }
        let page = Set(lines.map(String.init))
        let lu3 = #"target="iqn.2026-12.org.test:t",lun="3""#
        for expected in [
            #"targe_lu_written_bytes_total{\#(lu3)} 8192"#,
            #"targe_lu_commands_total{\#(lu3),type="write"} 1"#,
            #"targe_lu_command_duration_seconds_bucket{\#(lu3),type="write",le="0.001"} 0"#,
            #"targe_lu_command_duration_seconds_bucket{\#(lu3),type="write",le="0.0025"} 1"#,
            #"targe_lu_command_duration_seconds_sum{\#(lu3),type="write"} 0.002"#,
            #"targe_lu_errors_total{\#(lu3),sense_key="blank_check"} 1"#,
            #"targe_lu_errors_total{\#(lu3),sense_key="medium_error"} 0"#,
            #"targe_lu_capacity_bytes{\#(lu3)} 1048576"#,
            #"targe_logins_total{target="iqn.2026-12.org.test:t",outcome="chap_failure"} 1"#,
            #"targe_logins_total{target="iqn.2026-12.org.test:t",outcome="ok"} 0"#,
            #"targe_task_management_total{target="iqn.2026-12.org.test:t",function="logical_unit_reset"} 1"#,
            #"targe_sessions{target="iqn.2026-12.org.test:t"} 0"#,
            #"targe_raid1_member_state{device="m",member="r1",state="healthy"} 1"#,
            #"targe_raid1_member_state{device="m",member="r1",state="failed"} 0"#,
            #"targe_device_size_bytes{device="r0",kind="ram"} 1048576"#,
            "process_start_time_seconds 1700000000",
        ] {
            XCTAssertTrue(page.contains(expected), "missing: \(expected)\n\(text)")
        }
        XCTAssertFalse(text.contains(#"sense_key="blank_check"} 0"#))
        XCTAssertFalse(text.contains(#"lun="0",sense_key="blank_check""#), "rare keys only where they occurred")
    }

    func testRatesAreTheDifferenceOverTheInterval() throws {
        let loop = EmbeddedEventLoop()
        let unit = LogicalUnit(info: LogicalUnitInfo(blockCount: 2048, targetName: "iqn.2026-12.org.test:t", deviceName: "r"),
                               device: try RAMDevice(name: "r", size: 1 << 20))
        let sampler = RateSampler()
        let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
        sampler.sample([unit], at: t0)
        XCTAssertEqual(sampler.rates(of: unit), RateSampler.Rates(), "no rate from one sample")
        for _ in 0..<10 {
            unit.metrics.record(.write, bytes: 4096, latencyNanoseconds: 1, status: .good, senseKey: nil, on: loop)
        }
        unit.metrics.record(.read, bytes: 1000, latencyNanoseconds: 1, status: .good, senseKey: nil, on: loop)
        sampler.sample([unit], at: t0 + .milliseconds(500))
        XCTAssertEqual(sampler.rates(of: unit), RateSampler.Rates(readIOPS: 2, writeIOPS: 20, readBytesPerSecond: 2000,
                                                                  writeBytesPerSecond: 81920))
        sampler.sample([], at: t0 + .seconds(1))
        XCTAssertEqual(sampler.rates(of: unit), RateSampler.Rates(), "an LU gone from the catalog is forgotten")
    }
}
