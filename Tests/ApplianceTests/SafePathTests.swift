@testable import Appliance
import Foundation
import XCTest

/// Which paths the privileged helper opens: only those no user but root can redirect.
final class SafePathTests: XCTestCase {
    var dir = ""
    let nobody: uid_t = 65534

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("ownership checks need the test to run as root") }
        var template = Array("/tmp/targe-safepath.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw XCTSkip("mkdtemp failed")
        }
        dir = String(cString: made)
    }

    override func tearDown() {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    func file(_ path: String) {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data([1])))
    }

    func testTable() throws {
        // root's 0700 directory inside sticky /tmp: safe.
        file(dir + "/disk.img")
        mkdir(dir + "/open", 0o777); chmod(dir + "/open", 0o777)
        file(dir + "/open/disk.img")
        mkdir(dir + "/theirs", 0o755); chown(dir + "/theirs", nobody, nobody)
        file(dir + "/theirs/disk.img")
        mkdir(dir + "/sticky", 0o777); chmod(dir + "/sticky", 0o1777)
        file(dir + "/sticky/root.img")
        file(dir + "/sticky/user.img"); chown(dir + "/sticky/user.img", nobody, nobody)
        symlink(dir + "/disk.img", dir + "/link-safe")
        symlink(dir + "/theirs/disk.img", dir + "/link-unsafe")
        symlink("disk.img", dir + "/link-relative")

        let cases: [(path: String, safe: Bool, why: String)] = [
            (dir + "/disk.img", true, "a file in root's private directory under sticky /tmp"),
            (dir + "/missing.img", true, "a file to create in a safe directory"),
            (dir + "/link-safe", true, "a symlink through root's directories"),
            (dir + "/link-relative", true, "a relative symlink in a safe directory"),
            (dir + "/open/disk.img", false, "a directory anyone may write"),
            (dir + "/theirs/disk.img", false, "a directory another user owns"),
            (dir + "/link-unsafe", false, "a symlink into another user's directory"),
            (dir + "/sticky/root.img", true, "root's file in a sticky shared directory"),
            (dir + "/sticky/user.img", false, "another user's file in a sticky shared directory"),
            (dir + "/nodir/disk.img", false, "a missing directory"),
            (dir + "/../etc/passwd", false, "'..'"),
            ("relative/disk.img", false, "a relative path"),
            ("/dev/null", false, "a character device"),
            (dir, false, "a directory"),
        ]
        for c in cases {
            let problem = SafePath.problem(c.path)
            XCTAssertEqual(problem == nil, c.safe, "\(c.why): \(c.path): \(problem ?? "safe")")
        }
    }
}
