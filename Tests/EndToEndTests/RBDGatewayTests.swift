// Two Targe gateways (127.0.0.1 and 127.0.0.2) serving one RBD image of the test cluster as
// one LU: ALUA as initiators see it, failover after SIGKILL under load, and no stale write
// from a gateway frozen with SIGSTOP while the other took over. The cluster is RBDTests'.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

extension RBDTests {
    struct Gateways {
        var a: TargeProcess
        var b: TargeProcess
        var urlA: String
        var urlB: String
    }

    /// Starts gateway gw1 on 127.0.0.1 and, once it holds the image's lock, gw2 on 127.0.0.2.
    func startGatewayPair(conf: String, image: String) throws -> Gateways { try startGateways(conf: conf, image: image) }

    private func startGateways(conf: String, image: String) throws -> Gateways {
        let ports = (try freeLoopbackPort(), try freeLoopbackPort())
        func config(_ name: String, _ listen: String) -> ConfigBuilder {
            var config = ConfigBuilder()
            config.listen = listen
            config.serverLines.append("gateway-name \(name)")
            config.serverLines.append("metrics    127.0.0.1:0")
            config.raw("[device vm]\nrbd rbd/\(image)\nceph-conf \(conf)")
            config.raw("[target shared]\nlun 0 vm\ngateway gw1 127.0.0.1:\(ports.0)\ngateway gw2 127.0.0.2:\(ports.1)")
            return config
        }
        let a = try startTarge(config("gw1", "127.0.0.1:\(ports.0)"))
        guard a.waitForLog("gateway gw1 holds the image's lock", timeout: 60) else {
            throw E2EError("gw1 never took the image's lock\n\(a.diagnostics)")
        }
        let b = try startTarge(config("gw2", "127.0.0.2:\(ports.1)"))
        guard b.waitForLog("port group is standby (gw1 holds the lock)", timeout: 60) else {
            throw E2EError("gw2 never stood by\n\(b.diagnostics)")
        }
        return Gateways(a: a, b: b, urlA: a.lunURL(target: "shared"), urlB: b.lunURL(target: "shared"))
    }

    /// REPORT TARGET PORT GROUPS over a raw session: (group, state) per descriptor.
    private func portGroups(_ targe: TargeProcess) throws -> [(group: UInt16, state: UInt8)] {
        let s = try RawSession(host: targe.host, port: targe.port)
        try s.login(initiator: "iqn.2026-11.org.targe.test:alua", target: ConfigBuilder.iqn("shared"), headerDigest: "None")
        _ = try? s.execute([0x12, 0, 0, 0, 96, 0], expectedIn: 96)  // takes no unit attention; opens the nexus
        var result = try s.execute([0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], expectedIn: 256)
        if result.status == 0x02 { result = try s.execute([0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], expectedIn: 256) }
        guard result.status == 0 else { throw E2EError("REPORT TARGET PORT GROUPS: \(result)") }
        let data = result.data
        return stride(from: 4, to: data.count, by: 12).map { (o: Int) -> (group: UInt16, state: UInt8) in
            let group: UInt16 = UInt16(data[o + 2]) << 8 | UInt16(data[o + 3])
            return (group, data[o] & 0x0F)
        }
    }

    /// VPD page 83h through a raw session: the LU's designators (association 0) and this
    /// port's relative port and port group ids.
    private func deviceIdentification(_ targe: TargeProcess) throws -> (lu: [[UInt8]], port: [UInt16]) {
        let s = try RawSession(host: targe.host, port: targe.port)
        try s.login(initiator: "iqn.2026-11.org.targe.test:alua", target: ConfigBuilder.iqn("shared"), headerDigest: "None")
        let result = try s.execute([0x12, 0x01, 0x83, 0x01, 0x00, 0], expectedIn: 256)
        guard result.status == 0 else { throw E2EError("INQUIRY VPD 83h: \(result)") }
        var lu: [[UInt8]] = [], port: [UInt16] = []
        var o = 4
        let d = result.data
        while o + 4 <= d.count {
            let length = Int(d[o + 3])
            let association = (d[o + 1] >> 4) & 0x3, type = d[o + 1] & 0x0F
            if association == 0 { lu.append(Array(d[o..<o + 4 + length])) }
            if association == 1 && (type == 4 || type == 5) { port.append(UInt16(d[o + 6]) << 8 | UInt16(d[o + 7])) }
            o += 4 + length
        }
        return (lu, port)
    }

    /// The TargetAddress values a discovery session's SendTargets=All returns.
    private func sendTargets(_ targe: TargeProcess) throws -> [String] {
        let s = try RawSession(host: targe.host, port: targe.port)
        try s.login(initiator: "iqn.2026-11.org.targe.test:alua", target: "", headerDigest: "None", discovery: true)
        var request = PDU(data: textSegment([("SendTargets", "All")]))
        request.bhs[0] = 0x40 | 0x04  // immediate Text Request
        request.bhs[1] = 0x80
        request.setDataSegmentLength(request.data.count)
        request.setU32(16, s.nextITT())
        request.setU32(20, 0xFFFF_FFFF)
        request.setU32(24, s.cmdSN)
        request.setU32(28, s.statSN &+ 1)
        try s.send(request)
        let response = try s.readPDU()
        return response.data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            .filter { $0.hasPrefix("TargetAddress=") }.map { String($0.dropFirst("TargetAddress=".count)) }
    }

    /// qemu-io on `url`, cache writethrough: each write is acknowledged only after
    /// SYNCHRONIZE CACHE, so an acknowledged write must be in the cluster.
    private func qemuIO(_ url: String, _ commands: [String]) throws -> RunningTool {
        let qemuIO = try Tools.require("qemu-io", package: "qemu-utils")
        let stdbuf = Tools.find("stdbuf") ?? "/usr/bin/stdbuf"
        return RunningTool(stdbuf, ["-oL", qemuIO, "-f", "raw", "-t", "writethrough"]
                            + commands.flatMap { ["-c", $0] } + [url])
    }

    /// The offsets of the writes qemu-io reported done ("wrote 65536/65536 bytes at offset N").
    private func acknowledged(_ output: String) -> [Int] {
        output.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("wrote "), let at = line.range(of: "at offset ") else { return nil }
            return Int(line[at.upperBound...].prefix { $0.isNumber })
        }
    }

    /// Both gateways answer for the LU with the same identity and their own port groups:
    /// gw1 active/optimized, gw2 standby; I/O through gw2 gets 04/0B while INQUIRY works;
    /// SendTargets on either lists both portals with their tags. Then gw1 is killed with
    /// SIGKILL while qemu-io writes through it: gw2 takes the lock over (after gw1's watch
    /// lapses, 5 s in the test cluster), turns active/optimized, and writes go on through it;
    /// every write qemu-io saw acknowledged is in `rbd export`.
    func testGatewaysServeOneLUAndFailOverAfterKill9() throws {
        let conf = try cluster()
        let qemu = try Tools.qemuImg()
        let readCapacity = try Tools.iscsiReadCapacity16()
        let mib = 1 << 20, chunk = 64 * 1024
        assertSucceeded(rbd(conf, ["create", "rbd/gw-kill", "--size", "64M"]), "rbd create", nil)
        let gw = try startGateways(conf: conf, image: "gw-kill")

        // ALUA as initiators see it.
        XCTAssertEqual(try portGroups(gw.a).map(\.group), [1, 2])
        XCTAssertEqual(try portGroups(gw.a).map(\.state), [0, 2], "gw1 active/optimized, gw2 standby")
        XCTAssertEqual(try portGroups(gw.b).map(\.state), [0, 2], "gw2 sees the same")
        let standbyIO = runTool(readCapacity, [gw.urlB], timeout: 60, abortIf: gw.b.abortIfDead)
        XCTAssertFalse(standbyIO.succeeded, "\(standbyIO)")
        XCTAssertTrue((standbyIO.stdout + standbyIO.stderr).contains("0x040b"), "NOT READY, TARGET PORT IN STANDBY STATE:\n\(standbyIO)")
        // One LU identity on both (NAA and T10 designators), each with its own port group and
        // relative port. (libiscsi's tools cannot log in to a standby LUN: their connect
        // insists on TEST UNIT READY, which a standby port refuses as SPC-4 says; the
        // standby's INQUIRY is asked over a raw session.)
        let (luA, portA) = try deviceIdentification(gw.a)
        let (luB, portB) = try deviceIdentification(gw.b)
        XCTAssertEqual(luA, luB, "the same LU designators on both gateways")
        XCTAssertFalse(luA.isEmpty)
        XCTAssertEqual(portA, [1, 1], "gw1: relative port 1, port group 1")
        XCTAssertEqual(portB, [2, 2], "gw2: relative port 2, port group 2")
        for gateway in [gw.a, gw.b] {
            XCTAssertEqual(try sendTargets(gateway), ["\(gw.a.portal),1", "\(gw.b.portal),2"], "SendTargets on \(gateway.portal)")
        }

        // Data written and flushed through gw1 before anything happens.
        let dir = try makeScratchDir()
        let src = dir.appendingPathComponent("src.img").path
        try writeRandomFile(src, size: 64 * mib)
        assertSucceeded(runTool(qemu, QemuLUN(gw.a, target: "shared").writeArgs(from: src), timeout: 300,
                                abortIf: gw.a.abortIfDead), "qemu-img convert through gw1", gw.a)

        // Passes of writes through gw1 over 16-32 MiB, one pattern byte per chunk and pass;
        // gw1 dies among them.
        let chunks = (16 * mib) / chunk, passes = 40
        func pattern(_ write: Int) -> UInt8 { UInt8(1 + (write / chunks * 7 + write % chunks) % 200) }
        let writer = try qemuIO(gw.urlA, (0..<(passes * chunks)).map {
            "write -P \(pattern($0)) \(16 * mib + ($0 % chunks) * chunk) \(chunk)"
        })
        usleep(2_000_000)
        XCTAssertEqual(kill(gw.a.pid, SIGKILL), 0)
        let killedAt = Date()
        _ = gw.a.stop()

        // gw2 takes over: the first write through it that completes.
        var firstWrite: TimeInterval?
        while Date().timeIntervalSince(killedAt) < 60 {
            let probe = runTool(try Tools.require("qemu-io", package: "qemu-utils"),
                                ["-f", "raw", "-t", "writethrough", "-c", "write -P 119 \(48 * mib) 4096", gw.urlB], timeout: 15)
            if probe.stdout.contains("wrote 4096/4096 bytes") {
                firstWrite = Date().timeIntervalSince(killedAt)
                break
            }
            usleep(250_000)
        }
        let written = writer.wait(timeout: 5)
        let done = acknowledged(written.stdout)
        XCTAssertLessThan(done.count, passes * chunks, "gw1 must die among the writes")
        print("[e2e] failover: \(done.count) writes acknowledged by gw1 before SIGKILL; first write through gw2 "
              + "\(firstWrite.map { String(format: "%.1f", $0) } ?? "never") s after it")
        let seconds = try XCTUnwrap(firstWrite, "no write completed through gw2 within 60 s\n\(gw.b.diagnostics)")
        XCTAssertLessThan(seconds, 20, "takeover time")
        XCTAssertFalse(done.isEmpty, "qemu-io wrote nothing before the kill:\n\(written)")
        XCTAssertTrue(gw.b.waitForLog("stopped watching the image; it is blocklisted", timeout: 5), gw.b.diagnostics)
        XCTAssertEqual(try portGroups(gw.b).map(\.state), [2, 0], "gw2 active/optimized now")
        let status = runTool(gw.b.binary, ["status", "--config", gw.b.configPath], timeout: 30)
        XCTAssertTrue(status.stdout.contains("rbd, gateway gw2: active (holds the lock)"), "\(status)")
        let page = try gw.b.scrape()
        XCTAssertEqual(page.value("targe_gateway_role", ["device": "vm", "role": "active"]), 1)
        XCTAssertEqual(page.value("targe_gateway_role", ["device": "vm", "role": "standby"]), 0)

        let exported = dir.appendingPathComponent("exported.img").path
        assertSucceeded(rbd(conf, ["export", "rbd/gw-kill", exported]), "rbd export", nil)
        let image = try Data(contentsOf: URL(fileURLWithPath: exported))
        let original = try Data(contentsOf: URL(fileURLWithPath: src))
        // Each chunk holds its last acknowledged write, or the one after it (in flight at
        // the kill: written or not, never acknowledged).
        for write in 0..<done.count {
            let offset = 16 * mib + (write % chunks) * chunk
            XCTAssertEqual(done[write], offset, "qemu-io ran the writes in order")
            guard write + chunks >= done.count else { continue }  // overwritten by a later acknowledged pass
            let found = image[offset]
            XCTAssertTrue(found == pattern(write) || found == pattern(write + chunks),
                          "acknowledged write \(write) at \(offset): found \(found), expected \(pattern(write))")
            XCTAssertTrue(image[offset..<offset + chunk].allSatisfy { $0 == found }, "chunk at \(offset) is torn")
        }
        XCTAssertEqual(image[0..<16 * mib], original[0..<16 * mib], "data before the writes")
        XCTAssertTrue(image[48 * mib..<48 * mib + 4096].allSatisfy { $0 == 119 }, "the write through gw2")
        XCTAssertEqual(image[48 * mib + 4096..<64 * mib], original[48 * mib + 4096..<64 * mib])
    }

    /// gw1 is frozen (SIGSTOP) while it writes; gw2 fences it (blocklist), takes the lock and
    /// overwrites the region; when gw1 resumes, nothing it still had queued reaches the image,
    /// its initiator gets errors, and it comes back as a standby under a new client.
    func testAFrozenGatewayWritesNothingAfterTheTakeover() throws {
        let conf = try cluster()
        let mib = 1 << 20, chunk = 64 * 1024
        assertSucceeded(rbd(conf, ["create", "rbd/gw-stop", "--size", "32M"]), "rbd create", nil)
        let gw = try startGateways(conf: conf, image: "gw-stop")
        let chunks = (8 * mib) / chunk
        // Passes over 8-16 MiB with 0xAA: still writing when frozen.
        let writer = try qemuIO(gw.urlA, (0..<(60 * chunks)).map { "write -P 170 \(8 * mib + ($0 % chunks) * chunk) \(chunk)" })
        usleep(1_500_000)
        XCTAssertEqual(kill(gw.a.pid, SIGSTOP), 0)
        let frozenAt = Date()
        defer { kill(gw.a.pid, SIGCONT) }
        XCTAssertTrue(gw.b.waitForLog("gateway gw2 holds the image's lock", timeout: 60), gw.b.diagnostics)
        let takeover = Date().timeIntervalSince(frozenAt)
        let overwrite = runTool(try Tools.require("qemu-io", package: "qemu-utils"),
                                ["-f", "raw", "-t", "writethrough", "-c", "write -P 187 \(8 * mib) \(8 * mib)", gw.urlB], timeout: 60)
        XCTAssertTrue(overwrite.stdout.contains("wrote \(8 * mib)/\(8 * mib) bytes"), "\(overwrite)")

        XCTAssertEqual(kill(gw.a.pid, SIGCONT), 0)
        XCTAssertTrue(gw.a.waitForLog("it stops serving and reconnects as a new client", timeout: 30), gw.a.diagnostics)
        XCTAssertTrue(gw.a.waitForLog("port group is standby (gw2 holds the lock)", timeout: 60), gw.a.diagnostics)
        let written = writer.wait(timeout: 30)
        let acknowledgedWrites = acknowledged(written.stdout).count
        let failed = (written.stdout + written.stderr).components(separatedBy: "write failed").count - 1
        print("[e2e] frozen gateway: \(acknowledgedWrites) writes acknowledged by gw1, \(failed) failed after it resumed; "
              + "gw2 held the lock \(String(format: "%.1f", takeover)) s after SIGSTOP")
        XCTAssertLessThan(acknowledgedWrites, 60 * chunks, "gw1 must be frozen among its writes")
        XCTAssertGreaterThan(failed, 0, "gw1's initiator must see its writes fail:\n\(written)")

        let dir = try makeScratchDir()
        let exported = dir.appendingPathComponent("exported.img").path
        assertSucceeded(rbd(conf, ["export", "rbd/gw-stop", exported]), "rbd export", nil)
        let image = try Data(contentsOf: URL(fileURLWithPath: exported))
        let stale = stride(from: 8 * mib, to: 16 * mib, by: 4096).filter { image[$0] != 187 || image[$0 + 4095] != 187 }
        XCTAssertEqual(stale.count, 0, "blocks not as gw2 left them (a stale write from gw1): \(stale.prefix(8))")
    }

    /// Persistent reservations live in the cluster: a host registers through both gateways
    /// (the standby too) and reserves WRITE EXCLUSIVE, REGISTRANTS ONLY through gw1; gw1 is
    /// killed; through gw2 the registrations and the reservation are still there, the
    /// registered host writes and another host gets RESERVATION CONFLICT.
    func testReservationsSurviveTheFailover() throws {
        let conf = try cluster()
        assertSucceeded(rbd(conf, ["create", "rbd/gw-pr", "--size", "16M"]), "rbd create", nil)
        let gw = try startGateways(conf: conf, image: "gw-pr")
        func session(_ targe: TargeProcess, _ host: String) throws -> RawSession {
            let s = try RawSession(host: targe.host, port: targe.port)
            try s.login(initiator: "iqn.2026-11.org.targe.test:\(host)", target: ConfigBuilder.iqn("shared"), headerDigest: "None")
            _ = try s.execute(ReservationCDB.persistentReserveIn(serviceAction: 0), expectedIn: 256)  // takes the power-on UA
            return s
        }
        func out(_ s: RawSession, _ action: UInt8, type: UInt8 = 0, key: UInt64, serviceActionKey: UInt64 = 0) throws -> UInt8 {
            try s.execute(ReservationCDB.persistentReserveOut(serviceAction: action, type: type),
                          dataOut: ReservationCDB.parameters(key: key, serviceActionKey: serviceActionKey)).status
        }
        /// PERSISTENT RESERVE IN past unit attentions (a failover queues 2A/06).
        func prIn(_ s: RawSession, _ action: UInt8) throws -> [UInt8] {
            for _ in 0..<4 {
                let result = try s.execute(ReservationCDB.persistentReserveIn(serviceAction: action), expectedIn: 256)
                if result.status == 0 && result.data.count >= 8 { return result.data }
                guard result.senseKey == 0x6 else { throw E2EError("PERSISTENT RESERVE IN: \(result)") }
            }
            throw E2EError("PERSISTENT RESERVE IN: unit attentions did not stop")
        }
        func keys(_ s: RawSession) throws -> [UInt64] {
            let data = try prIn(s, 0)
            let length = Int(ReservationCDB.be64([0, 0, 0, 0] + Array(data[4..<8]), at: 0))
            return stride(from: 8, to: 8 + length, by: 8).map { ReservationCDB.be64(data, at: $0) }
        }
        func reservation(_ s: RawSession) throws -> (key: UInt64, type: UInt8)? {
            let data = try prIn(s, 1)
            guard data.count >= 24, data[7] != 0 else { return nil }
            return (ReservationCDB.be64(data, at: 8), data[21] & 0x0F)
        }
        let viaA = try session(gw.a, "node1")
        XCTAssertEqual(try out(viaA, 0, key: 0, serviceActionKey: 0x1111), 0, "REGISTER through gw1")
        let viaB = try session(gw.b, "node1")
        XCTAssertEqual(try out(viaB, 0, key: 0, serviceActionKey: 0x1111), 0, "REGISTER through the standby gw2")
        XCTAssertEqual(try out(viaA, 1, type: 5, key: 0x1111), 0, "RESERVE WRITE EXCLUSIVE, REGISTRANTS ONLY through gw1")
        XCTAssertEqual(try keys(viaB), [0x1111, 0x1111], "gw2 sees both registrations")
        XCTAssertEqual(try reservation(viaB)?.type, 5, "gw2 sees the reservation")

        XCTAssertEqual(kill(gw.a.pid, SIGKILL), 0)
        _ = gw.a.stop()
        XCTAssertTrue(gw.b.waitForLog("gateway gw2 holds the image's lock", timeout: 60), gw.b.diagnostics)
        let node1 = viaB  // the initiator port (name and ISID) that registered through gw2
        XCTAssertEqual(try keys(node1), [0x1111, 0x1111])
        XCTAssertEqual(try reservation(node1)?.key, 0x1111)
        let write = [0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0] as [UInt8]
        var status = try node1.execute(write, dataOut: [UInt8](repeating: 7, count: 512)).status
        if status == 0x02 { status = try node1.execute(write, dataOut: [UInt8](repeating: 7, count: 512)).status }
        XCTAssertEqual(status, 0, "the registered host writes through gw2")
        let node2 = try session(gw.b, "node2")
        XCTAssertEqual(try node2.execute(write, dataOut: [UInt8](repeating: 8, count: 512)).status, 0x18,
                       "another host gets RESERVATION CONFLICT")
    }

    /// SET TARGET PORT GROUPS (explicit ALUA) through the standby gateway moves the LU there:
    /// the holder is fenced and comes back as a standby, and writes go through the new one.
    func testSetTargetPortGroupsMovesTheLU() throws {
        let conf = try cluster()
        assertSucceeded(rbd(conf, ["create", "rbd/gw-stpg", "--size", "16M"]), "rbd create", nil)
        let gw = try startGateways(conf: conf, image: "gw-stpg")
        let s = try RawSession(host: gw.b.host, port: gw.b.port)
        try s.login(initiator: "iqn.2026-11.org.targe.test:stpg", target: ConfigBuilder.iqn("shared"), headerDigest: "None")
        let stpg: [UInt8] = [0xA4, 0x0A, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0]
        var result = try s.execute(stpg, dataOut: [0, 0, 0, 0, 0x00, 0, 0, 2])
        if result.senseKey == 0x6 { result = try s.execute(stpg, dataOut: [0, 0, 0, 0, 0x00, 0, 0, 2]) }
        XCTAssertEqual(result.status, 0, "SET TARGET PORT GROUPS: \(result)")
        XCTAssertEqual(try portGroups(gw.b).map(\.state), [2, 0], "gw2 active/optimized")
        XCTAssertTrue(gw.a.waitForLog("it stops serving and reconnects as a new client", timeout: 30), gw.a.diagnostics)
        XCTAssertTrue(gw.a.waitForLog("port group is standby (gw2 holds the lock)", timeout: 60), gw.a.diagnostics)
        XCTAssertEqual(try portGroups(gw.a).map(\.state), [2, 0], "gw1 agrees")
        let write = runTool(try Tools.require("qemu-io", package: "qemu-utils"),
                            ["-f", "raw", "-t", "writethrough", "-c", "write -P 9 0 64k", gw.urlB], timeout: 60)
        XCTAssertTrue(write.stdout.contains("wrote 65536/65536 bytes"), "\(write)")
    }
}
