// One qemu running the appliance image through image/run.sh, with its serial console
// captured to a file and input typed by the test.
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// One qemu running the image through image/run.sh. The serial console goes to a file
/// (polled; nothing can block on a full pipe). The test types into qemu's stdin: a pipe,
/// or with `terminal: true` a pseudo-terminal, as a person at a serial terminal would have
/// (qemu then puts it in raw mode and the guest's own tty does the echo and line editing).
final class ApplianceMachine: @unchecked Sendable {
    let port: UInt16
    let consolePath: String
    private let process = Process()
    private let input: FileHandle
    private let started = Date()
    /// Console length (characters, after dropping CR) when input was last typed.
    private var typedAt = 0
    private var copier: Thread?

    /// `extraDisks` become vdc, vdd, ... (image/run.sh's EXTRA_DISKS). `reboots`: a guest
    /// reboot restarts the machine in the same qemu (else qemu exits, as `-no-reboot` does).
    init(imageDir: URL, consolePath: String, port: UInt16, extraDisks: [String] = [], reboots: Bool = false,
         terminal: Bool = false) throws {
        self.port = port
        self.consolePath = consolePath
        _ = FileManager.default.createFile(atPath: consolePath, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Paths.packageRoot.appendingPathComponent("image/run.sh").path]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "TARGE_IMAGE_DIR": imageDir.path, "PORT": "\(port)", "QEMU_EXTRA": reboots ? "" : "-no-reboot",
            "EXTRA_DISKS": extraDisks.joined(separator: " "),
            // TCG unless the caller says otherwise: a KVM probe would cost every run 20 s
            // on hosts where /dev/kvm is broken (PLATFORM.md).
            "ACCEL": ProcessInfo.processInfo.environment["TARGE_ACCEL"] ?? "tcg",
        ]) { _, new in new }
        if terminal {
            let (master, secondary) = try Self.openTerminal()
            let side = FileHandle(fileDescriptor: secondary, closeOnDealloc: true)
            process.standardInput = side
            process.standardOutput = side
            process.standardError = side
            input = FileHandle(fileDescriptor: master, closeOnDealloc: true)
            try process.run()
            try side.close()  // qemu holds it now; the master reads EIO once qemu has gone
            let log = FileHandle(forWritingAtPath: consolePath)
            let thread = Thread {
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    log?.write(Data(buffer[0..<n]))
                }
                try? log?.close()
            }
            thread.start()
            copier = thread
        } else {
            let pipe = Pipe()
            input = pipe.fileHandleForWriting
            process.standardInput = pipe
            process.standardOutput = FileHandle(forWritingAtPath: consolePath)
            process.standardError = FileHandle(forWritingAtPath: consolePath)
            try process.run()
        }
    }

    /// A pseudo-terminal pair the Linux way (/dev/ptmx, unlock, ask its number): Glibc's
    /// grantpt/ptsname are not visible to Swift without _XOPEN_SOURCE.
    private static func openTerminal() throws -> (master: Int32, secondary: Int32) {
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        guard master >= 0 else { throw E2EError("cannot open /dev/ptmx: errno \(errno)") }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        let TIOCSPTLCK: UInt = 0x4004_5431, TIOCGPTN: UInt = 0x8004_5430
        guard ioctl(master, TIOCSPTLCK, &unlock) == 0, ioctl(master, TIOCGPTN, &number) == 0 else {
            throw E2EError("cannot set up the pseudo-terminal: errno \(errno)")
        }
        let secondary = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        guard secondary >= 0 else { throw E2EError("cannot open /dev/pts/\(number): errno \(errno)") }
        return (master, secondary)
    }

    var console: String {
        ((try? String(contentsOfFile: consolePath, encoding: .utf8)) ?? "").replacingOccurrences(of: "\r", with: "")
    }

    func type(_ text: String) {
        typedAt = console.count
        input.write(Data(text.utf8))
    }

    /// Waits until `prompt` shows in what the console printed after the last input and the
    /// console has been quiet for a moment (the whole prompt is out), then types `answer`
    /// and Enter: a person reading the screen before answering.
    func answer(_ prompt: String, _ answer: String, timeout: TimeInterval = 120,
                file: StaticString = #filePath, line: UInt = #line) throws {
        guard waitForPrompt(prompt, timeout: timeout) else {
            throw E2EError(failure("no prompt `\(prompt)` (to answer `\(answer)`) within \(Int(timeout)) s"))
        }
        type(answer + "\n")
    }

    /// The console text printed since the last input.
    var sinceInput: String {
        let text = console
        return String(text.dropFirst(min(typedAt, text.count)))
    }

    func waitForPrompt(_ prompt: String, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        var quietSince = Date()
        while Date() < deadline {
            let now = sinceInput
            if now != last {
                last = now
                quietSince = Date()
            } else if now.contains(prompt) && Date().timeIntervalSince(quietSince) >= 0.4 {
                return true
            }
            if !process.isRunning { return false }
            usleep(100_000)
        }
        return false
    }

    /// Seconds since start when `text` has appeared `count` times; nil on timeout or exit.
    func wait(for text: String, count: Int, timeout: TimeInterval) -> Double? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if console.components(separatedBy: text).count - 1 >= count { return Date().timeIntervalSince(started) }
            if !process.isRunning { return nil }
            usleep(200_000)
        }
        return nil
    }

    /// qemu's exit status, nil if still running after `timeout`.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(100_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func kill() {
        if process.isRunning {
            signalChild(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// A failure message with the console's tail.
    func failure(_ what: String) -> String {
        let state = process.isRunning ? "qemu running" : "qemu exited with status \(process.terminationStatus)"
        return "\(what) (\(state))\n--- console (\(consolePath)) ---\n\(tail(console, lines: 60))\n--- end ---"
    }
}
