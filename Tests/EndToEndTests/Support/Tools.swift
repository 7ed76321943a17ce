// Running external programs (initiators, qemu-img, the targe binary) with hard timeouts.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A test-harness error whose description carries everything needed to diagnose it.
struct E2EError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Fixed locations: the package root and the `targe` binary under test.
enum Paths {
    /// The directory holding Package.swift, found upwards from this source file.
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url
            }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    /// `TARGE_BIN` if set, else `.build/release/targe`, else `.build/debug/targe`.
    static func targeBinary() throws -> String {
        if let bin = ProcessInfo.processInfo.environment["TARGE_BIN"], !bin.isEmpty {
            guard access(bin, X_OK) == 0 else {
                throw E2EError("TARGE_BIN=\(bin) is not an executable file")
            }
            return bin
        }
        let candidates = ["release", "debug"].map {
            packageRoot.appendingPathComponent(".build/\($0)/targe").path
        }
        if let found = candidates.first(where: { access($0, X_OK) == 0 }) {
            if found == candidates[0], access(candidates[1], X_OK) == 0,
               let release = modificationDate(candidates[0]), let debug = modificationDate(candidates[1]),
               debug > release {
                print("[e2e] warning: testing \(found), which is older than \(candidates[1]); set TARGE_BIN to choose")
            }
            return found
        }
        throw E2EError("""
            targe binary not found (looked at \(candidates.joined(separator: ", "))); \
            build it (swift build) or set TARGE_BIN
            """)
    }

    static let scripts = packageRoot.appendingPathComponent("scripts")

    private static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}

/// Finding installed tools, and skipping a test when one is missing.
enum Tools {
    static func find(_ name: String) -> String? {
        let env = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let dirs = env.split(separator: ":").map(String.init)
            + ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        for dir in dirs where !dir.isEmpty {
            let path = dir + "/" + name
            if access(path, X_OK) == 0 { return path }
        }
        return nil
    }

    /// The tool's path, or an XCTSkip naming the Debian package that provides it.
    static func require(_ name: String, package: String) throws -> String {
        guard let path = find(name) else {
            throw XCTSkip("\(name) is not installed (Debian package \(package)); skipping this end-to-end test")
        }
        return path
    }

    static func iscsiLs() throws -> String { try require("iscsi-ls", package: "libiscsi-bin") }
    static func iscsiInq() throws -> String { try require("iscsi-inq", package: "libiscsi-bin") }
    static func iscsiReadCapacity16() throws -> String {
        try require("iscsi-readcapacity16", package: "libiscsi-bin")
    }
    static func iscsiTestCU() throws -> String { try require("iscsi-test-cu", package: "libiscsi-bin") }
    static func qemuImg() throws -> String {
        let path = try require("qemu-img", package: "qemu-utils")
        // The iscsi protocol driver is a loadable module from qemu-block-extra.
        let probe = runTool(path, ["--help"], timeout: 30)
        if !probe.stdout.contains("iscsi") {
            throw XCTSkip("qemu-img has no iscsi driver (install qemu-block-extra); skipping")
        }
        return path
    }
}

/// What a finished (or killed) child did.
struct ToolResult: CustomStringConvertible, Sendable {
    var command: [String]
    var status: Int32
    var killedBySignal: Bool
    var timedOut: Bool
    var stdout: String
    var stderr: String
    var seconds: Double
    /// Why the child was killed before its timeout (e.g. targe died meanwhile).
    var aborted: String? = nil

    var succeeded: Bool { !timedOut && !killedBySignal && status == 0 }

    var outcome: String {
        if let aborted { return "KILLED after \(String(format: "%.1f", seconds)) s because \(aborted)" }
        if timedOut { return "TIMED OUT after \(String(format: "%.1f", seconds)) s (killed)" }
        if killedBySignal { return "killed by signal \(status) after \(String(format: "%.1f", seconds)) s" }
        return "exit \(status) after \(String(format: "%.1f", seconds)) s"
    }

    var description: String {
        """
        $ \(command.map(shellQuote).joined(separator: " "))
        -> \(outcome)
        --- stdout (tail) ---
        \(tail(stdout, lines: 30))
        --- stderr (tail) ---
        \(tail(stderr, lines: 30))
        """
    }
}

func shellQuote(_ s: String) -> String {
    let safe = CharacterSet(charactersIn:
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@%+")
    if !s.isEmpty && s.unicodeScalars.allSatisfy({ safe.contains($0) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

func tail(_ text: String, lines: Int) -> String {
    let all = text.split(separator: "\n", omittingEmptySubsequences: false)
    return all.suffix(lines).joined(separator: "\n")
}

/// Sends `sig` to a child started by Foundation's Process (which gives it its own process
/// group, so the whole group goes: scripts take their children with them).
func signalChild(_ pid: pid_t, _ sig: Int32) {
    guard pid > 0 else { return }
    if getpgid(pid) == pid {
        _ = kill(-pid, sig)
    } else {
        _ = kill(pid, sig)
    }
}

/// A started child whose stdout/stderr go to files (no pipes: nothing can block on a full
/// pipe, and concurrent children never inherit each other's pipe ends).
final class RunningTool: @unchecked Sendable {
    let command: [String]
    private let process = Process()
    private let exited = DispatchSemaphore(value: 0)
    private let captureDir: URL
    private let started = Date()
    private var launchError: String?

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
         currentDirectory: String? = nil) {
        command = [executable] + arguments
        // Never fall back to a shared directory: wait() deletes this one.
        captureDir = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("targe-e2e-run-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: captureDir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            launchError = "cannot create \(captureDir.path): \(error)"
            exited.signal()
            return
        }
        let out = captureDir.appendingPathComponent("stdout")
        let err = captureDir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        if let currentDirectory {
            process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory)
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: out.path)
        process.standardError = FileHandle(forWritingAtPath: err.path)
        let sem = exited
        process.terminationHandler = { _ in sem.signal() }
        do {
            try process.run()
        } catch {
            launchError = "cannot start \(executable): \(error)"
            sem.signal()
        }
    }

    var pid: pid_t { process.processIdentifier }

    /// Waits for the child; on timeout (or as soon as `abortIf` returns a reason, polled a
    /// few times a second) sends SIGTERM, then SIGKILL 3 s later.
    func wait(timeout: TimeInterval, abortIf: (() -> String?)? = nil) -> ToolResult {
        var timedOut = false
        var abortReason: String?
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let slice = min(0.25, max(0, deadline.timeIntervalSinceNow))
            if exited.wait(timeout: .now() + slice) == .success { break }
            if let reason = abortIf?() {
                abortReason = reason
            } else if Date() < deadline {
                continue
            }
            timedOut = true
            signalChild(pid, SIGTERM)
            if exited.wait(timeout: .now() + 3) == .timedOut {
                signalChild(pid, SIGKILL)
                exited.wait()
            }
            break
        }
        let seconds = Date().timeIntervalSince(started)
        defer {
            if captureDir.lastPathComponent.hasPrefix("targe-e2e-run-") {
                try? FileManager.default.removeItem(at: captureDir)
            }
        }
        let stdout = (try? String(contentsOf: captureDir.appendingPathComponent("stdout"), encoding: .utf8)) ?? ""
        var stderr = (try? String(contentsOf: captureDir.appendingPathComponent("stderr"), encoding: .utf8)) ?? ""
        if let launchError {
            stderr += launchError
            return ToolResult(command: command, status: -1, killedBySignal: false, timedOut: false,
                              stdout: stdout, stderr: stderr, seconds: seconds)
        }
        return ToolResult(command: command,
                          status: process.terminationStatus,
                          killedBySignal: process.terminationReason == .uncaughtSignal,
                          timedOut: timedOut, stdout: stdout, stderr: stderr, seconds: seconds,
                          aborted: abortReason)
    }
}

/// Runs a program to completion with a hard timeout (kill on timeout) and captures its output.
func runTool(_ executable: String, _ arguments: [String], timeout: TimeInterval,
             environment: [String: String]? = nil, currentDirectory: String? = nil,
             abortIf: (() -> String?)? = nil) -> ToolResult {
    RunningTool(executable, arguments, environment: environment, currentDirectory: currentDirectory)
        .wait(timeout: timeout, abortIf: abortIf)
}

/// A fresh private directory (mkdtemp) under $TMPDIR or /tmp.
func makeTempDir(prefix: String) throws -> URL {
    var base = NSTemporaryDirectory()
    if base.hasSuffix("/") { base.removeLast() }
    var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
    let made: String? = template.withUnsafeMutableBufferPointer { buf in
        guard let p = mkdtemp(buf.baseAddress!) else { return nil }
        return String(cString: p)
    }
    guard let made else { throw E2EError("mkdtemp failed in \(base): errno \(errno)") }
    return URL(fileURLWithPath: made)
}

/// Writes `size` bytes from /dev/urandom to `path`.
func writeRandomFile(_ path: String, size: Int) throws {
    guard let random = FileHandle(forReadingAtPath: "/dev/urandom") else {
        throw E2EError("cannot open /dev/urandom")
    }
    defer { try? random.close() }
    guard FileManager.default.createFile(atPath: path, contents: nil),
          let out = FileHandle(forWritingAtPath: path) else {
        throw E2EError("cannot create \(path)")
    }
    defer { try? out.close() }
    var left = size
    while left > 0 {
        let chunk = min(left, 1 << 20)
        let data = random.readData(ofLength: chunk)
        guard data.count == chunk else { throw E2EError("short read from /dev/urandom") }
        out.write(data)
        left -= chunk
    }
}

/// nil when both files have the same bytes, else a sentence saying where they differ.
/// With `limit`, only the first `limit` bytes of each are compared.
func firstDifference(_ a: String, _ b: String, limit: Int? = nil) -> String? {
    guard let fa = FileHandle(forReadingAtPath: a) else { return "cannot open \(a)" }
    guard let fb = FileHandle(forReadingAtPath: b) else { return "cannot open \(b)" }
    defer { try? fa.close(); try? fb.close() }
    var offset = 0
    while true {
        let length = min(1 << 20, (limit ?? Int.max) - offset)
        if length <= 0 { return nil }
        let da = fa.readData(ofLength: length)
        let db = fb.readData(ofLength: length)
        if da != db {
            let n = min(da.count, db.count)
            var i = 0
            while i < n && da[da.startIndex + i] == db[db.startIndex + i] { i += 1 }
            if i == n {
                return "sizes differ: \(a) and \(b) diverge in length at byte \(offset + n)"
            }
            return "\(a) and \(b) differ first at byte \(offset + i)"
        }
        if da.isEmpty { return nil }
        offset += da.count
    }
}

/// Joins files into one (for comparing a whole LUN with its region sources).
func concatenate(_ parts: [String], into path: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: nil),
          let out = FileHandle(forWritingAtPath: path) else {
        throw E2EError("cannot create \(path)")
    }
    defer { try? out.close() }
    for part in parts {
        guard let data = FileManager.default.contents(atPath: part) else {
            throw E2EError("cannot read \(part)")
        }
        out.write(data)
    }
}

/// A thread-safe box for state shared with background threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
    var current: Value { withLock { $0 } }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw E2EError("socket: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw E2EError("bind: errno \(errno)") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw E2EError("getsockname: errno \(errno)") }
    return UInt16(bigEndian: address.sin_port)
}

/// Resident memory of `pid` in bytes: all of it (`VmRSS`), or the anonymous part
/// (`RssAnon`: the heap, without the binary's text pages that first use faults in).
func residentBytes(_ pid: pid_t, field: String = "VmRSS") -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }
    return 0
}
