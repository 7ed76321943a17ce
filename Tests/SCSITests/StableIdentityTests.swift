import SCSI
import XCTest

final class StableIdentityTests: XCTestCase {
    func testDeterministic() {
        let a = LogicalUnitInfo.stableIdentity(targetIQN: "iqn.2024-01.org.targe:x", deviceName: "disk")
        let b = LogicalUnitInfo.stableIdentity(targetIQN: "iqn.2024-01.org.targe:x", deviceName: "disk")
        XCTAssertEqual(a.serial, b.serial)
        XCTAssertEqual(a.naa, b.naa)
    }

    func testKnownValueDoesNotDrift() {
        // Pinned: identities must survive restarts and upgrades.
        let identity = LogicalUnitInfo.stableIdentity(targetIQN: "iqn.x", deviceName: "d")
        XCTAssertEqual(identity.serial, "47E938ED511636E9")
        XCTAssertEqual(identity.naa, [0x60, 0x25, 0x44, 0x74, 0x7E, 0x93, 0x8E, 0xD5,
                                      0xA3, 0xF2, 0x9C, 0x10, 0x45, 0xE0, 0x33, 0x26])
    }

    func testDistinctInputsDiffer() {
        let a = LogicalUnitInfo.stableIdentity(targetIQN: "iqn.a", deviceName: "bc")
        let b = LogicalUnitInfo.stableIdentity(targetIQN: "iqn.ab", deviceName: "c")
        let c = LogicalUnitInfo.stableIdentity(targetIQN: "iqn.a", deviceName: "bd")
        XCTAssertNotEqual(a.serial, b.serial)
        XCTAssertNotEqual(a.naa, b.naa)
        XCTAssertNotEqual(a.naa, c.naa)
    }

    func testNAAFormat() {
        let identity = LogicalUnitInfo.stableIdentity(targetIQN: "iqn.2024-01.org.targe:x", deviceName: "disk")
        XCTAssertEqual(identity.naa.count, 16)
        XCTAssertEqual(identity.naa[0] >> 4, 6, "NAA 6: IEEE Registered Extended")
        let companyID = (UInt32(identity.naa[0] & 0x0F) << 20) | (UInt32(identity.naa[1]) << 12)
            | (UInt32(identity.naa[2]) << 4) | UInt32(identity.naa[3] >> 4)
        XCTAssertEqual(companyID, LogicalUnitInfo.companyIdentifier)
        XCTAssertEqual(identity.serial.count, 16)
        XCTAssertTrue(identity.serial.allSatisfy { $0.isHexDigit && !$0.isLowercase })
    }

    func testConvenienceInitialiserUsesStableIdentity() {
        let lu = LogicalUnitInfo(blockCount: 10, targetName: "iqn.x", deviceName: "d")
        XCTAssertEqual(lu.serial, "47E938ED511636E9")
        XCTAssertEqual(lu.naaIdentifier.count, 16)
        XCTAssertEqual(lu.maxTransferBlocks, UInt32(LogicalUnitInfo.defaultMaxTransferBytes / 512))
        XCTAssertEqual(lu.optimalTransferBlocks, UInt32(LogicalUnitInfo.defaultOptimalTransferBytes / 512))
        XCTAssertEqual(lu.vendor, "TARGE")
        XCTAssertEqual(lu.relativeTargetPort, 1)
        XCTAssertEqual(lu.rotationRate, 1)
    }
}
