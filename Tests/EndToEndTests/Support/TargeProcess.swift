// The targe binary under test, run as `targe serve --config FILE` in a private directory.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Builds a targe config file. Paths written as `@DIR@` become the test's scratch directory.
struct ConfigBuilder {
    static let nodeBase = "iqn.2026-11.org.targe.test"

    var listen = "127.0.0.1:0"
    /// `[server] user`: the user targe drops to when started as root.
    var user: String?
    /// `[server] max-sessions`.
    var maxSessions: Int?
    /// `[server] sanitize-rate`.
    var sanitizeRate: String?
    /// More `[server]` lines ("max-connections 8").
    var serverLines: [String] = []
    /// Target-side values offered in negotiation; tests override single keys with `set`.
    var connection: [(key: String, value: String)] = [
        ("InitialR2T", "No"),
        ("ImmediateData", "Yes"),
        ("MaxRecvDataSegmentLength", "262144"),
        ("MaxBurstLength", "1048576"),
        ("FirstBurstLength", "65536"),
        ("HeaderDigest", "CRC32C,None"),
        ("DataDigest", "CRC32C,None"),
    ]
    var timeouts: [(key: String, value: String)] = [
        ("nop-interval", "5"),
        ("nop-timeout", "15"),
        ("login-timeout", "15"),
    ]
    private var sections: [String] = []

    /// Replaces (or adds) one `[connection]` key.
    mutating func set(_ key: String, _ value: String) {
        if let i = connection.firstIndex(where: { $0.key.lowercased() == key.lowercased() }) {
            connection[i].value = value
        } else {
            connection.append((key, value))
        }
    }

    /// Leaves one `[connection]` key out of the file, so the target's default applies.
    mutating func unset(_ key: String) {
        connection.removeAll { $0.key.lowercased() == key.lowercased() }
    }

    /// A file-backed device at `@DIR@/<name>.img`, created sparse by targe if missing.
    mutating func fileDevice(_ name: String, size: String, extra: [String] = []) {
        sections.append((["[device \(name)]", "path    @DIR@/\(name).img", "size    \(size)", "create  yes"]
            + extra).joined(separator: "\n"))
    }

    mutating func ramDevice(_ name: String, size: String) {
        sections.append("[device \(name)]\nram     \(size)")
    }

    /// A target `<node-base>:<name>` with LUN i = luns[i].
    mutating func target(_ name: String, luns: [String]) {
        var lines = ["[target \(name)]"]
        for (i, dev) in luns.enumerated() { lines.append("lun     \(i) \(dev)") }
        sections.append(lines.joined(separator: "\n"))
    }

    mutating func raw(_ text: String) { sections.append(text) }

    func render(dir: String) -> String {
        var out = ["# written by Targe's end-to-end tests", "[server]",
                   "node-base  \(Self.nodeBase)", "listen     \(listen)"] + (user.map { ["user       \($0)"] } ?? [])
            + (maxSessions.map { ["max-sessions \($0)"] } ?? [])
            + (sanitizeRate.map { ["sanitize-rate \($0)"] } ?? []) + serverLines
            + ["", "[connection]"]
        out += connection.map { "\($0.key)  \($0.value)" }
        out += ["", "[timeouts]"]
        out += timeouts.map { "\($0.key)  \($0.value)" }
        for s in sections { out += ["", s] }
        return (out.joined(separator: "\n") + "\n").replacingOccurrences(of: "@DIR@", with: dir)
    }

    static func iqn(_ target: String) -> String { "\(nodeBase):\(target)" }
}

/// One `targe serve` child. Stdout and stderr go to files in the scratch dir; stdout is
/// polled for `listening on HOST:PORT` lines (the binary flushes after each).
final class TargeProcess: @unchecked Sendable {
    let binary: String
    let dir: URL
    let configPath: String
    private(set) var portals: [(host: String, port: UInt16)] = []
    private var process: Process?
    private var exited = DispatchSemaphore(value: 0)
    private var starts = 0
    private(set) var stderrPath: String
    private(set) var stdoutPath: String

    /// The command line after the binary; `serve --config <dir>/targe.conf` unless given.
    private let arguments: [String]

    init(binary: String, config: String, dir: URL) throws {
        self.binary = binary
        self.dir = dir
        configPath = dir.appendingPathComponent("targe.conf").path
        stderrPath = dir.appendingPathComponent("targe-stderr.log").path
        stdoutPath = dir.appendingPathComponent("targe-stdout.log").path
        arguments = ["serve", "--config", configPath]
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Runs `binary arguments` as they are (`serve --data-dir DIR`: the embedded default).
    init(binary: String, arguments: [String], dir: URL) {
        self.binary = binary
        self.dir = dir
        configPath = ""
        stderrPath = dir.appendingPathComponent("targe-stderr.log").path
        stdoutPath = dir.appendingPathComponent("targe-stdout.log").path
        self.arguments = arguments
    }

    /// Waits until the log holds `text` at least `count` times; false after `timeout`.
    func waitForLog(_ text: String, count: Int = 1, timeout: TimeInterval = 120) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            let log = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            if log.components(separatedBy: text).count - 1 >= count { return true }
            usleep(200_000)
        } while Date() < deadline
        return false
    }

    var port: UInt16 { portals.first?.port ?? 0 }
    var host: String { portals.first?.host ?? "127.0.0.1" }
    var portal: String { "\(host):\(port)" }
    var pid: pid_t { process?.processIdentifier ?? 0 }
    var isRunning: Bool { process?.isRunning ?? false }

    func lunURL(target: String, lun: Int = 0) -> String {
        "iscsi://\(portal)/\(ConfigBuilder.iqn(target))/\(lun)"
    }

    /// Starts the server and waits for `expectPortals` listening lines.
    func start(expectPortals: Int = 1, timeout: TimeInterval = 60) throws {
        precondition(process == nil || !(process!.isRunning), "already running")
        starts += 1
        stdoutPath = dir.appendingPathComponent("targe-stdout-\(starts).log").path
        stderrPath = dir.appendingPathComponent("targe-stderr-\(starts).log").path
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        p.currentDirectoryURL = dir
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        p.standardError = FileHandle(forWritingAtPath: stderrPath)
        let sem = DispatchSemaphore(value: 0)
        exited = sem
        p.terminationHandler = { _ in sem.signal() }
        try p.run()
        process = p
        portals = []

        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let found = Self.parseListening((try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "")
            if found.count >= expectPortals {
                portals = found
                return
            }
            if !p.isRunning {
                // Give the termination handler a moment so the status is final.
                _ = sem.wait(timeout: .now() + 1)
                process = nil    // reported here; tearDown need not report it again
                throw E2EError("""
                    targe exited before listening (\(p.terminationReason == .uncaughtSignal ? "signal" : "exit") \
                    \(p.terminationStatus))
                    \(diagnostics)
                    """)
            }
            usleep(50_000)
        }
        let found = Self.parseListening((try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "")
        _ = stop()
        throw E2EError("""
            targe printed \(found.count) of \(expectPortals) `listening on HOST:PORT` lines within \(Int(timeout)) s
            \(diagnostics)
            """)
    }

    /// `listening on HOST:PORT` lines (HOST may be `[v6]`).
    static func parseListening(_ text: String) -> [(host: String, port: UInt16)] {
        var result: [(host: String, port: UInt16)] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let s = line.trimmingCharacters(in: .whitespaces)
            guard s.hasPrefix("listening on ") else { continue }
            let hp = s.dropFirst("listening on ".count).trimmingCharacters(in: .whitespaces)
            guard let colon = hp.lastIndex(of: ":"), let port = UInt16(hp[hp.index(after: colon)...]),
                  port != 0 else { continue }
            result.append((String(hp[..<colon]), port))
        }
        return result
    }

    struct StopResult {
        var exitStatus: Int32
        var bySignal: Bool
        var killed: Bool
        var seconds: Double
        var clean: Bool { !killed && !bySignal && exitStatus == 0 }
        var summary: String {
            killed ? "did not exit within the grace period and was SIGKILLed"
                : bySignal ? "died of signal \(exitStatus)"
                : "exited with status \(exitStatus) after \(String(format: "%.1f", seconds)) s"
        }
    }

    /// SIGTERM, wait `grace` seconds, then SIGKILL. Returns how it ended (nil: never started).
    @discardableResult
    func stop(grace: TimeInterval = 15) -> StopResult? {
        guard let p = process else { return nil }
        defer { process = nil }
        let t0 = Date()
        if p.isRunning { _ = kill(p.processIdentifier, SIGTERM) }
        var killed = false
        if exited.wait(timeout: .now() + grace) == .timedOut {
            killed = true
            _ = kill(p.processIdentifier, SIGKILL)
            exited.wait()
        }
        return StopResult(exitStatus: p.terminationStatus, bySignal: p.terminationReason == .uncaughtSignal,
                          killed: killed, seconds: Date().timeIntervalSince(t0))
    }

    /// Whether it died on its own (crash) since start; with the status if so.
    var deathNotice: String? {
        guard let p = process, !p.isRunning else { return nil }
        _ = exited.wait(timeout: .now() + 1)
        exited.signal()
        return p.terminationReason == .uncaughtSignal
            ? "targe died of signal \(p.terminationStatus)"
            : "targe exited with status \(p.terminationStatus)"
    }

    /// For runTool(abortIf:): stop waiting for a client once targe has died.
    var abortIfDead: () -> String? { { [self] in self.deathNotice } }

    /// The tail of targe's stderr, for failure messages.
    var diagnostics: String {
        let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "(no stderr file)"
        return """
            --- targe stderr (last 40 lines of \(stderrPath)) ---
            \(tail(err, lines: 40))
            --- end of targe stderr (config: \(configPath)) ---
            """
    }
}
