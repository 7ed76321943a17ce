import Appliance
import Config
import XCTest

/// Every page in one session: the contract example of CONFIG.md built from nothing through
/// the menu, saved, and read back equal to the example itself.
final class MenuWholeConfigTests: MenuTestCase {
    func testBuildTheContractExampleFromScratch() throws {
        let terminal = runMenu([
            "1", "1", "storage1", "2", "192.168.10.20/24", "3", "192.168.10.1", "4", "ttyS0", "0",
            "9", "1", "iqn.2026-11.com.example.storage1", "2", "0.0.0.0:3260 [::]:3260", "3", "64", "4", "targe", "0",
            "6", "4", "yes", "8", "CRC32C,None", "0",
            "7", "1", "10", "0",
            "5",
            "1", "1", "alice", "alice-secret-12", "0",
            "2", "storage1", "target-secret-12",
            "0",
            "8", "1", "allow 192.168.10.0/24", "1", "deny all", "", "0",
            "2",
            "1", "disk1", "/dev/vdb", "", "", "",
            "1", "disk2", "/dev/vdc", "", "", "",
            "1", "scratch", "/var/lib/targe/scratch.img", "1MiB", "10GiB", "buffered",
            "1", "ram0", "ram 256MiB",
            "0",
            "3",
            "1", "mirror", "1", "disk1 disk2",
            "1", "big", "0", "mirror scratch", "",
            "0",
            "4",
            "1", "db", "", "mirror",
            "4", "1", "1 ram0", "0",
            "6", "1", "192.168.10.0/24", "1", "iqn.1993-08.org.debian:01:web1", "0",
            "7", "1", "bob", "bob-secret-123", "0",
            "3", "database",
            "0",
            "1", "archive", "iqn.2026-11.com.example:archive", "big",
            "5", "ro",
            "0",
            "0",
            "12", "", "0",
        ], expect: .quit(saved: true))

        var expected = try ConfigParser.parse(ExampleConfig.text)
        expected.connection.initialR2T = true
        expected.connection.headerDigest = [.crc32c, .none]
        expected.timeouts.nopInterval = 10
        let saved = try ConfigParser.load(path: configPath)
        XCTAssertEqual(saved, expected, transcriptTail(terminal))
        for secret in ["alice-secret-12", "target-secret-12", "bob-secret-123"] {
            XCTAssertFalse(terminal.transcript.contains(secret), "secret \(secret) shown")
        }
        XCTAssertEqual(terminal.unread, [], "the script was followed to the end")
    }
}
