import XCTest
import Config

/// `ConfigDifference`: what a reload applies, from two parsed files.
final class ConfigDifferenceTests: XCTestCase {
    let base = """
    [server]
    node-base iqn.2026-11.org.example
    listen 127.0.0.1:3260
    [device a]
    path /srv/a.img
    size 1GiB
    [device b]
    path /srv/b.img
    [device r]
    ram 64MiB
    [device m1]
    path /dev/sdb
    [device m2]
    path /dev/sdc
    [combination mirror]
    raid 1
    members m1 m2
    [target A]
    lun 0 a
    [target B]
    lun 0 b
    allow 10.0.0.0/8
    [target M]
    lun 0 mirror

    """

    func difference(_ edit: (String) -> String) throws -> ConfigDifference {
        let running = try parseValid(base)
        let new = try parseValid(edit(base))
        return ConfigDifference(from: running, to: new)
    }

    func testTheSameFileWithOtherLinesAndCommentsChangesNothing() throws {
        let d = try difference { "# a comment\n\n" + $0.replacingOccurrences(of: "lun 0 a", with: "lun 0 a   # the first") }
        XCTAssertTrue(d.isEmpty, "\(d)")
    }

    func testTargetsAddedAndRemoved() throws {
        let d = try difference {
            $0.replacingOccurrences(of: "[target B]\nlun 0 b\nallow 10.0.0.0/8\n", with: "")
                + "[target C]\nlun 0 r\n"
        }
        XCTAssertEqual(d.targetsAdded, ["iqn.2026-11.org.example:c"])
        XCTAssertEqual(d.targetsRemoved, ["iqn.2026-11.org.example:b"])
        XCTAssertEqual(d.targetsChanged, [])
        XCTAssertTrue(d.needsRestart.isEmpty)
    }

    func testLUNAddedRemovedAndRemapped() throws {
        let d = try difference {
            $0.replacingOccurrences(of: "[target A]\nlun 0 a\n", with: "[target A]\nlun 0 a\nlun 1 n\n")
                .replacingOccurrences(of: "[target B]\nlun 0 b\n", with: "[target B]\nlun 3 b\n")
                .replacingOccurrences(of: "[target M]\nlun 0 mirror\n", with: "[target M]\nlun 0 r\n")
                + "[device n]\nram 1MiB\n"
        }
        let byIQN = Dictionary(uniqueKeysWithValues: d.targetsChanged.map { ($0.iqn, $0) })
        XCTAssertEqual(byIQN["iqn.2026-11.org.example:a"]?.lunsAdded, [1])
        XCTAssertEqual(byIQN["iqn.2026-11.org.example:a"]?.lunsRemoved, [])
        XCTAssertEqual(byIQN["iqn.2026-11.org.example:b"]?.lunsAdded, [3])
        XCTAssertEqual(byIQN["iqn.2026-11.org.example:b"]?.lunsRemoved, [0])
        XCTAssertEqual(byIQN["iqn.2026-11.org.example:m"]?.lunsReplaced, [0])
        XCTAssertEqual(byIQN["iqn.2026-11.org.example:m"]?.lunMapChanged, false)
    }

    func testSizeAloneIsAResizeAndAnythingElseReplacesTheDevice() throws {
        let grown = try difference { $0.replacingOccurrences(of: "size 1GiB", with: "size 2GiB") }
        XCTAssertEqual(grown.devicesResized, [.init(device: "a", from: 1 << 30, to: 2 << 30)])
        XCTAssertEqual(grown.devicesReplaced, [])
        XCTAssertEqual(grown.targetsChanged, [])

        let ram = try difference { $0.replacingOccurrences(of: "ram 64MiB", with: "ram 128MiB") }
        XCTAssertEqual(ram.devicesResized, [.init(device: "r", from: 64 << 20, to: 128 << 20)])
        XCTAssertEqual(ram.devicesReplaced, [])

        let moved = try difference { $0.replacingOccurrences(of: "path /srv/a.img", with: "path /srv/other.img") }
        XCTAssertEqual(moved.devicesReplaced, ["a"])
        XCTAssertEqual(moved.devicesResized, [])
        XCTAssertEqual(moved.targetsChanged.map(\.lunsReplaced), [[0]])
    }

    func testAReplacedMemberReplacesTheCombinationAndItsLUN() throws {
        let d = try difference { $0.replacingOccurrences(of: "path /dev/sdc", with: "path /dev/sdd") }
        XCTAssertEqual(d.devicesReplaced, ["m2", "mirror"])
        XCTAssertEqual(d.targetsChanged.map(\.iqn), ["iqn.2026-11.org.example:m"])
        XCTAssertEqual(d.targetsChanged.first?.lunsReplaced, [0])
    }

    func testAccessRulesUsersAndTargetResetAreAccessChanges() throws {
        for edit in [
            { (s: String) in s.replacingOccurrences(of: "allow 10.0.0.0/8", with: "allow 10.1.0.0/16") },
            { (s: String) in s.replacingOccurrences(of: "[target B]\n", with: "[target B]\ntarget-reset refuse\n") },
            { (s: String) in s + "[auth]\nincoming alice secretsecret12\n" },
        ] {
            let d = try difference(edit)
            XCTAssertTrue(d.targetsChanged.contains { $0.accessChanged }, "\(d)")
        }
        let readOnly = try difference { $0.replacingOccurrences(of: "[target A]\n", with: "[target A]\naccess ro\n") }
        XCTAssertEqual(readOnly.targetsChanged.first?.readOnlyChanged, true)
        XCTAssertEqual(readOnly.targetsChanged.first?.lunsReplaced, [0])
    }

    func testSettingsPortalsAndWhatNeedsARestart() throws {
        let d = try difference {
            $0.replacingOccurrences(of: "listen 127.0.0.1:3260", with: "listen 127.0.0.1:3261 advertise 10.0.0.1:3261\nuser nobody\nmax-sessions 8")
                + "[connection]\nMaxBurstLength 262144\n[timeouts]\nnop-interval 7\n"
        }
        XCTAssertEqual(d.portalsAdded.map(\.portal.description), ["127.0.0.1:3261"])
        XCTAssertEqual(d.portalsAdded.first?.advertised.map(\.description), ["10.0.0.1:3261"])
        XCTAssertEqual(d.portalsRemoved.map(\.description), ["127.0.0.1:3260"])
        XCTAssertEqual(d.settingsChanged, ["[connection]", "[timeouts]", "[server] max-sessions"])
        XCTAssertEqual(d.needsRestart, ["[server] user"])
    }
}
