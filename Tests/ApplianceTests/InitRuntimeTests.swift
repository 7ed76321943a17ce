import Config
import XCTest
@testable import Appliance

/// The pure parts of PID 1 after boot: network plan and netmask math, which config to
/// serve, the first-boot default, restart backoff, console commands.
final class InitRuntimeTests: XCTestCase {
    func testNetmaskFromPrefix() {
        XCTAssertEqual(NetworkPlan.netmask(prefixLength: 24), 0xFFFF_FF00)
        XCTAssertEqual(NetworkPlan.netmask(prefixLength: 0), 0)
        XCTAssertEqual(NetworkPlan.netmask(prefixLength: 32), 0xFFFF_FFFF)
        XCTAssertEqual(NetworkPlan.netmask(prefixLength: 1), 0x8000_0000)
        XCTAssertEqual(NetworkPlan.netmask(prefixLength: 20), 0xFFFF_F000)
        XCTAssertEqual(NetworkPlan.format(NetworkPlan.netmask(prefixLength: 27)), "255.255.255.224")
    }

    func testStaticPlanFromConfig() throws {
        let config = try ConfigParser.parse("[appliance]\nhostname box1\naddress 192.168.10.20/24\ngateway 192.168.10.1\n")
        let plan = NetworkPlan(settings: config.appliance)
        XCTAssertEqual(plan.hostname, "box1")
        XCTAssertEqual(plan.address, .ipv4(address: 0xC0A8_0A14, netmask: 0xFFFF_FF00, gateway: 0xC0A8_0A01))
        XCTAssertEqual(plan.summary, "192.168.10.20/24 via 192.168.10.1")
        XCTAssertEqual(plan.warnings, [])
    }

    func testGatewayOffTheSubnetIsAWarning() throws {
        let config = try ConfigParser.parse("[appliance]\naddress 10.0.2.15/24\ngateway 10.0.3.2\n")
        let plan = NetworkPlan(settings: config.appliance)
        XCTAssertEqual(plan.hostname, "targe")
        XCTAssertEqual(plan.warnings, ["gateway 10.0.3.2 is outside 10.0.2.0/24; the route may not work"])
    }

    func testDhcpIPv6AndNothing() throws {
        XCTAssertEqual(NetworkPlan(settings: try ConfigParser.parse("[appliance]\naddress dhcp\n").appliance).address, .dhcp)
        guard case .none = NetworkPlan(settings: try ConfigParser.parse("[appliance]\naddress fd00::5/64\n").appliance).address else {
            return XCTFail("IPv6 static addresses are not configured yet")
        }
        guard case .none = NetworkPlan(settings: nil).address else { return XCTFail("no [appliance]: nothing to configure") }
    }

    func testConfigChoice() {
        XCTAssertEqual(ConfigChoice.decide(partitionMounted: true, file: .valid, configPath: "/config/t", fallbackPath: "/run/t"),
                       .use(path: "/config/t"))
        XCTAssertEqual(ConfigChoice.decide(partitionMounted: true, file: .missing, configPath: "/config/t", fallbackPath: "/run/t"),
                       .writeDefault(path: "/config/t"))
        let invalid = ConfigChoice.decide(partitionMounted: true, file: .invalid("t:3: bad"), configPath: "/config/t", fallbackPath: "/run/t")
        XCTAssertEqual(invalid.servedPath, "/run/t", "an invalid file is never overwritten")
        if case let .fallback(_, reason) = invalid { XCTAssertTrue(reason.contains("t:3: bad")) } else { XCTFail("\(invalid)") }
        XCTAssertEqual(ConfigChoice.decide(partitionMounted: false, file: .missing, configPath: "/config/t", fallbackPath: "/run/t").servedPath,
                       "/run/t")
    }

    func testFileStateUsesTheParserAndTheFeatureGate() throws {
        let dir = NSTemporaryDirectory() + "targe-init-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(ConfigChoice.state(ofFileAt: "\(dir)/none.conf"), .missing)
        try "[server]\nbogus 1\n".write(toFile: "\(dir)/bad.conf", atomically: true, encoding: .utf8)
        guard case let .invalid(text) = ConfigChoice.state(ofFileAt: "\(dir)/bad.conf") else { return XCTFail() }
        XCTAssertTrue(text.contains(":2:"), text)
        try FirstBootConfig.text(dataDisk: nil).write(toFile: "\(dir)/ok.conf", atomically: true, encoding: .utf8)
        XCTAssertEqual(ConfigChoice.state(ofFileAt: "\(dir)/ok.conf"), .valid)
    }

    func testFirstBootDefaults() throws {
        for disk in ["/dev/vdb", nil] {
            let config = try ConfigParser.parse(FirstBootConfig.text(dataDisk: disk))
            XCTAssertEqual(FeatureGate.unsupported(in: config), [], "the default must be servable as it is")
            XCTAssertEqual(config.appliance?.address, .static(address: "10.0.2.15", prefixLength: 24))
            XCTAssertEqual(config.appliance?.gateway, "10.0.2.2")
            XCTAssertEqual(config.appliance?.hostname, "targe")
            XCTAssertEqual(config.server.user, "targe")
            XCTAssertEqual(config.targets.count, 1)
            if let disk { XCTAssertEqual(config.devices.first?.path, disk) }
        }
    }

    /// Under qemu's port forward the guest's own address is useless to the host's initiators:
    /// the first-boot config advertises what the hypervisor passed, and only that.
    func testFirstBootAdvertisesTheForwardedAddress() throws {
        let forwarded = Portal(host: "127.0.0.1", port: 13260)
        let config = try ConfigParser.parse(FirstBootConfig.text(dataDisk: "/dev/vdb", advertise: forwarded))
        XCTAssertEqual(config.server.listen, [Portal(host: "0.0.0.0", port: 3260)])
        XCTAssertEqual(config.server.advertised, [Portal(host: "0.0.0.0", port: 3260): [forwarded]])
        XCTAssertEqual(try ConfigParser.parse(FirstBootConfig.text(dataDisk: nil)).server.advertised, [:],
                       "without a hint from the hypervisor nothing is advertised")
    }

    /// SMBIOS type 11 as /sys/firmware/dmi/entries/11-N/raw holds it: a 5-byte formatted
    /// area (type, length, handle, count), then the strings, each NUL-terminated, then a NUL.
    func testOEMStringsFromRawSMBIOS() {
        func raw(_ strings: [String], formatted: UInt8 = 5) -> [UInt8] {
            var bytes: [UInt8] = [11, formatted, 0x00, 0x11, UInt8(strings.count)]
            bytes += [UInt8](repeating: 0, count: Int(formatted) - 5)
            for s in strings { bytes += Array(s.utf8) + [0] }
            return bytes + [0]
        }
        let strings = ["vendor=x", "org.targe.advertise=127.0.0.1:3260", "org.targe.advertise=10.0.0.1:1"]
        XCTAssertEqual(OEMStrings.parse(raw: raw(strings)), strings)
        XCTAssertEqual(OEMStrings.parse(raw: raw(["a"], formatted: 6)), ["a"], "the formatted area's length is honoured")
        XCTAssertEqual(OEMStrings.parse(raw: raw([])), [])
        XCTAssertEqual(OEMStrings.parse(raw: [1, 5, 0, 0, 1] + Array("x".utf8) + [0, 0]), [], "not a type 11 structure")
        XCTAssertEqual(OEMStrings.parse(raw: [11, 40, 0]), [], "truncated")
        XCTAssertEqual(OEMStrings.advertisedPortal(in: OEMStrings.parse(raw: raw(strings))),
                       Portal(host: "127.0.0.1", port: 3260), "the first one wins")
        for bad in ["org.targe.advertise=0.0.0.0:3260", "org.targe.advertise=127.0.0.1:0", "org.targe.advertise=host:1",
                    "org.targe.advertiser=127.0.0.1:3260"] {
            XCTAssertNil(OEMStrings.advertisedPortal(in: [bad]), bad)
        }
        XCTAssertEqual(OEMStrings.read(from: "/nonexistent-dmi-dir"), [], "no firmware entries: nothing")
    }

    func testRestartBackoff() {
        var backoff = RestartBackoff()
        XCTAssertEqual((1...7).map { _ in backoff.failed(ranFor: 2) }, [1, 2, 4, 8, 16, 30, 30])
        XCTAssertEqual(backoff.failed(ranFor: 120), 1, "a long healthy run starts the count again")
        backoff.reset()
        XCTAssertEqual(backoff.consecutiveFailures, 0)
    }

    func testConsoleCommands() {
        XCTAssertEqual(ConsoleCommand.parse("  Status \r"), .status)
        XCTAssertEqual(ConsoleCommand.parse("poweroff"), .powerOff)
        XCTAssertEqual(ConsoleCommand.parse("restart"), .restart)
        XCTAssertEqual(ConsoleCommand.parse("Reload"), .reload)
        XCTAssertEqual(ConsoleCommand.parse("reboot"), .reboot)
        XCTAssertEqual(ConsoleCommand.parse(""), .empty)
        XCTAssertEqual(ConsoleCommand.parse("menu"), .menu)
        XCTAssertEqual(ConsoleCommand.parse("format c:"), .unknown("format c:"))
    }

    func testServiceControlQueuesRequests() throws {
        let control = try ServiceControl()
        control.restart()
        control.powerOff()
        XCTAssertEqual(control.takeRequests(), [.restart, .powerOff])
        XCTAssertEqual(control.takeRequests(), [])
        control.publish(.running(pid: 42), detail: "network x")
        XCTAssertEqual(control.statusLine, "running (pid 42); network x")
        XCTAssertEqual(control.stateDescription(), "running (pid 42)")
    }

    func testMemoryInfo() {
        let info = MemoryInfo.parse("MemTotal:         245760 kB\nMemFree:  1000 kB\nMemAvailable:     153600 kB\n")
        XCTAssertEqual(info, MemoryInfo(totalKiB: 245760, availableKiB: 153600))
        XCTAssertEqual(info?.summary, "memory 150 of 240 MiB available")
        XCTAssertNil(MemoryInfo.parse("MemTotal: 1 kB\n"))
    }

    func testInitDetection() {
        XCTAssertTrue(InitDetection.shouldRunInit(pid: 1, arguments: ["/init"]))
        XCTAssertTrue(InitDetection.shouldRunInit(pid: 1, arguments: ["/init", "splash"]), "left-over boot parameters")
        XCTAssertTrue(InitDetection.shouldRunInit(pid: 1, arguments: ["/usr/bin/targe"]))
        XCTAssertTrue(InitDetection.shouldRunInit(pid: 1, arguments: ["targe", "init"]))
        XCTAssertFalse(InitDetection.shouldRunInit(pid: 1, arguments: ["targe", "serve", "--config", "/etc/targe.conf"]),
                       "PID 1 of a container serves")
        XCTAssertFalse(InitDetection.shouldRunInit(pid: 42, arguments: ["/init"]))
    }

    func testPowerButtonPress() {
        func event(type: UInt16, code: UInt16, value: Int32) -> [UInt8] {
            [UInt8](repeating: 0, count: 16) + [UInt8(type & 0xff), UInt8(type >> 8), UInt8(code & 0xff), UInt8(code >> 8)]
                + (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        }
        let sync = event(type: 0, code: 0, value: 0)
        XCTAssertTrue(PowerButton.containsPress(event(type: 1, code: 116, value: 1) + sync))
        XCTAssertFalse(PowerButton.containsPress(event(type: 1, code: 116, value: 0) + sync), "a release is not a press")
        XCTAssertFalse(PowerButton.containsPress(event(type: 1, code: 115, value: 1)), "another key")
        XCTAssertFalse(PowerButton.containsPress(Array(event(type: 1, code: 116, value: 1).prefix(20))), "a partial record")
    }

    func testExitStatusText() {
        XCTAssertEqual(ServiceSupervisor.describe(status: 1 << 8), "exited with status 1")
        XCTAssertEqual(ServiceSupervisor.describe(status: 9), "was killed by signal 9")
    }
}
