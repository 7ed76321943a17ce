import Foundation
import Appliance
import Config
import Glibc
import XCTest

/// A terminal that plays a script of input lines and records what the menu writes. Input is
/// echoed into `transcript` as a real terminal would show it; `output` is the menu's alone.
final class ScriptedTerminal: Terminal {
    private var script: [String]
    private(set) var output = ""
    private(set) var transcript = ""
    /// Lines the menu wrote before each read, counting the prompt line: one screenful each.
    private(set) var screenfuls: [Int] = []
    /// How many reads were for secrets (no echo).
    private(set) var secretReads = 0
    private var linesSinceRead = 0

    init(_ script: [String]) {
        self.script = script
    }

    var unread: [String] { script }

    func write(_ text: String) {
        output += text
        transcript += text
        linesSinceRead += text.filter { $0 == "\n" }.count
    }

    func readLine() -> String? {
        screenfuls.append(linesSinceRead + 1)
        linesSinceRead = 0
        guard !script.isEmpty else { return nil }
        let line = script.removeFirst()
        transcript += line + "\n"
        output += "\n"
        return line
    }

    func readSecretLine() -> String? {
        secretReads += 1
        screenfuls.append(linesSinceRead + 1)
        linesSinceRead = 0
        guard !script.isEmpty else { return nil }
        transcript += "\n"  // no echo
        output += "\n"
        return script.removeFirst()
    }
}

/// Records service actions; each can be made to fail with a message.
final class SpyServiceControl: ServiceControlling {
    enum Call: Equatable { case start, stop, restart, reboot, powerOff }
    private(set) var calls: [Call] = []
    var failures: [Call: String] = [:]

    func stateDescription() -> String { "running (test)" }
    func start() throws(ServiceControlError) { try record(.start) }
    func stop() throws(ServiceControlError) { try record(.stop) }
    func restart() throws(ServiceControlError) { try record(.restart) }
    func reboot() throws(ServiceControlError) { try record(.reboot) }
    func powerOff() throws(ServiceControlError) { try record(.powerOff) }

    private func record(_ call: Call) throws(ServiceControlError) {
        calls.append(call)
        if let message = failures[call] { throw ServiceControlError(message) }
    }
}

struct FixedStatus: StatusSource {
    var lines: [String]?
    /// What `reload` answers; nil: the target is not running.
    var reloadLines: [String]?

    func statusLines() throws(StatusUnavailable) -> [String] {
        guard let lines else { throw StatusUnavailable("target not running") }
        return lines
    }

    func reload() throws(StatusUnavailable) -> [String] {
        guard let reloadLines else { throw StatusUnavailable("target not running") }
        return reloadLines
    }
}

/// A fresh directory per test, removed with its files afterwards.
class MenuTestCase: XCTestCase {
    var directory = ""
    var configPath: String { directory + "/targe.conf" }

    override func setUpWithError() throws {
        var template = Array("/tmp/targe-menu-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        XCTAssertNotNil(made)
        directory = String(cString: made!)
    }

    override func tearDownWithError() throws {
        for name in listDirectory() { unlink(directory + "/" + name) }
        rmdir(directory)
    }

    func listDirectory() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    func write(_ text: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }

    func read(_ path: String) -> [UInt8]? {
        guard let fd = Optional(open(path, O_RDONLY)), fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return bytes }
            bytes += buffer[0..<n]
        }
    }

    func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Runs the menu over `script` and checks the 80x24 rules on everything it printed.
    @discardableResult
    func runMenu(_ script: [String], service: ServiceControlling = SpyServiceControl(), status: StatusSource = FixedStatus(),
                 expect outcome: ConsoleMenu.Outcome? = nil, file: StaticString = #filePath, line: UInt = #line)
        -> ScriptedTerminal {
        let terminal = ScriptedTerminal(script)
        let result = ConsoleMenu(configPath: configPath, terminal: terminal, service: service, status: status).run()
        if let outcome { XCTAssertEqual(result, outcome, transcriptTail(terminal), file: file, line: line) }
        if case .quit = result {
            XCTAssertEqual(terminal.unread, [], "the menu quit before the script ended", file: file, line: line)
        }
        assertFitsTerminal(terminal, file: file, line: line)
        return terminal
    }

    func assertFitsTerminal(_ terminal: ScriptedTerminal, file: StaticString = #filePath, line: UInt = #line) {
        for text in terminal.output.split(separator: "\n", omittingEmptySubsequences: false) where text.count > 79 {
            XCTFail("line longer than 79 columns (\(text.count)): \(text)", file: file, line: line)
        }
        XCTAssertLessThanOrEqual(terminal.screenfuls.max() ?? 0, 22, "a screenful longer than 22 lines", file: file, line: line)
    }

    func transcriptTail(_ terminal: ScriptedTerminal) -> String {
        String(terminal.transcript.suffix(3000))
    }

    func assertShows(_ terminal: ScriptedTerminal, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(terminal.output.contains(fragment), "no \"\(fragment)\" in:\n\(transcriptTail(terminal))",
                      file: file, line: line)
    }
}
