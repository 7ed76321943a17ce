import Foundation
import Config
import Glibc
import XCTest

/// A crash during `ConfigWriter.writeAtomically` leaves the old file or the new one, never
/// a mix, an empty file, or a temp file that gets in the way. Crashes are simulated by
/// failing at the writer's step hook.
final class AtomicWriteTests: XCTestCase {
    private var directory = ""
    private var path: String { directory + "/targe.conf" }
    private let old = "[device d]\nram 1MiB\n[target t]\nlun 0 d\n"
    private let new = "[device d]\nram 2MiB\n[target t]\nlun 0 d\n"

    override func setUpWithError() throws {
        var template = Array("/tmp/targe-atomic-test.XXXXXX".utf8CString)
        directory = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }!)
        try ConfigWriter.writeAtomically(old, to: path)
    }

    override func tearDownWithError() throws {
        for name in entries() { unlink(directory + "/" + name) }
        rmdir(directory)
    }

    func testFailureBeforeRenameKeepsTheOldFile() throws {
        XCTAssertThrowsError(try ConfigWriter.writeAtomically(new, to: path) { step throws(ConfigFileError) in
            if step == .tempFileSynced { throw ConfigFileError(path: path, operation: "rename", detail: "power cut") }
        })
        XCTAssertEqual(try ConfigParser.load(path: path).devices[0].source, .ram(bytes: 1 << 20))
        XCTAssertEqual(entries(), ["targe.conf"], "the temp file is removed")
    }

    /// A real power cut cannot clean up; a leftover temp file must not affect loading, and
    /// the next save must still work.
    func testLeftoverTempFileDoesNotBreakLoadingOrSaving() throws {
        let stray = directory + "/.targe.conf.tmp.ABC123"
        let fd = open(stray, O_WRONLY | O_CREAT, 0o600)
        _ = write(fd, "[devi", 5)
        close(fd)
        XCTAssertEqual(try ConfigParser.load(path: path).devices[0].source, .ram(bytes: 1 << 20))
        try ConfigWriter.writeAtomically(new, to: path)
        XCTAssertEqual(try ConfigParser.load(path: path).devices[0].source, .ram(bytes: 2 << 20))
    }

    func testFailureAfterRenameKeepsTheNewFile() throws {
        XCTAssertThrowsError(try ConfigWriter.writeAtomically(new, to: path) { step throws(ConfigFileError) in
            if step == .renamed { throw ConfigFileError(path: path, operation: "fsync directory", detail: "power cut") }
        })
        XCTAssertEqual(try ConfigParser.load(path: path).devices[0].source, .ram(bytes: 2 << 20))
        XCTAssertEqual(entries(), ["targe.conf"])
    }

    func testStepsRunInOrder() throws {
        var steps: [AtomicWriteStep] = []
        try ConfigWriter.writeAtomically(new, to: path) { steps.append($0) }
        XCTAssertEqual(steps, [.tempFileSynced, .renamed])
    }

    private func entries() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }
}
