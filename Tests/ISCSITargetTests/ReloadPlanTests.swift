import Config
import XCTest
@testable import ISCSITarget

/// Which RAID1 member changes a reload may make under an exported LUN.
final class ReloadPlanTests: XCTestCase {
    let base = """
    [device m1]
    path /dev/sdb
    [device m2]
    path /dev/sdc
    [device m3]
    path /dev/sdd
    [combination mirror]
    raid 1
    members m1 m2
    [target t]
    lun 0 mirror

    """

    func swaps(_ edit: (String) -> String) throws -> [ReloadPlan.MemberSwap] {
        let running = try ConfigParser.parse(base)
        let new = try ConfigParser.parse(edit(base))
        let difference = ConfigDifference(from: running, to: new)
        return ReloadPlan.memberSwaps(difference, running: running, new: new)["mirror"] ?? []
    }

    func testAMemberRenamedInPlaceIsASwap() throws {
        let found = try swaps { $0.replacingOccurrences(of: "members m1 m2", with: "members m1 m3") }
        XCTAssertEqual(found.map { "\($0.old ?? "-")->\($0.new ?? "-")" }, ["m2->m3"])
    }

    func testAMemberAddedAtTheEndIsAnAddition() throws {
        let found = try swaps { $0.replacingOccurrences(of: "members m1 m2", with: "members m1 m2 m3") }
        XCTAssertEqual(found.map { "\($0.old ?? "-")->\($0.new ?? "-")" }, ["-->m3"])
    }

    func testAMemberLeftOutIsARemoval() throws {
        let three = base.replacingOccurrences(of: "members m1 m2", with: "members m1 m2 m3")
        let running = try ConfigParser.parse(three)
        let new = try ConfigParser.parse(three.replacingOccurrences(of: "members m1 m2 m3", with: "members m1 m3"))
        let found = ReloadPlan.memberSwaps(ConfigDifference(from: running, to: new), running: running, new: new)["mirror"] ?? []
        XCTAssertEqual(found.map { "\($0.old ?? "-")->\($0.new ?? "-")" }, ["m2->-"])
        let reordered = try ConfigParser.parse(three.replacingOccurrences(of: "members m1 m2 m3", with: "members m3 m1"))
        XCTAssertNil(ReloadPlan.memberSwaps(ConfigDifference(from: running, to: reordered), running: running, new: reordered)["mirror"])
    }

    func testOtherCombinationChangesAreNotSwaps() throws {
        let cases: [(String, (String) -> String)] = [
            ("a member added in front", { $0.replacingOccurrences(of: "members m1 m2", with: "members m3 m1 m2") }),
            ("members reordered", { $0.replacingOccurrences(of: "members m1 m2", with: "members m2 m1") }),
            ("level changed", { $0.replacingOccurrences(of: "raid 1", with: "raid 0") }),
            ("a kept member's path changed", {
                $0.replacingOccurrences(of: "members m1 m2", with: "members m1 m3")
                    .replacingOccurrences(of: "path /dev/sdb", with: "path /dev/sde")
            }),
        ]
        for (why, edit) in cases {
            XCTAssertEqual(try swaps(edit).count, 0, why)
        }
    }
}
