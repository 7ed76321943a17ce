import SCSI
import XCTest

final class NexusIdentityTests: XCTestCase {
    func testInitiatorPortName() {
        let nexus = NexusIdentity(initiatorName: "iqn.1993-08.org.debian:01:abc", isid: 0x8000_12AB_0001,
                                  targetPortName: "iqn.2024-01.org.targe:disk1,t,0x0001", relativeTargetPort: 1)
        XCTAssertEqual(nexus.initiatorPortName, "iqn.1993-08.org.debian:01:abc,i,0x800012ab0001")
        // Leading zeros are kept: always 12 hex digits.
        var small = nexus
        small.isid = 0x23D_0000_0002
        XCTAssertEqual(small.initiatorPortName, "iqn.1993-08.org.debian:01:abc,i,0x023d00000002")
        // Only 48 bits count.
        let wide = NexusIdentity(initiatorName: "i", isid: 0xFFFF_0000_0000_0001, targetPortName: "t", relativeTargetPort: 1)
        XCTAssertEqual(wide.isid, 1)
    }

    func testTargetPortName() {
        XCTAssertEqual(NexusIdentity.targetPortName(targetName: "iqn.x:y", portalGroupTag: 0x2A), "iqn.x:y,t,0x002a")
        let nexus = NexusIdentity(initiatorName: "i", isid: 1, targetName: "iqn.x:y", portalGroupTag: 1, relativeTargetPort: 3)
        XCTAssertEqual(nexus.targetPortName, "iqn.x:y,t,0x0001")
        XCTAssertEqual(nexus.relativeTargetPort, 3)
    }

    func testTransportIDFormat01() {
        let nexus = Fixture.nexusA
        let id = nexus.transportID
        XCTAssertEqual(id[0], 0x45, "FORMAT CODE 01b, PROTOCOL IDENTIFIER 5 (iSCSI)")
        XCTAssertEqual(id[1], 0)
        let length = Int(id[2]) << 8 | Int(id[3])
        XCTAssertEqual(length, id.count - 4)
        XCTAssertEqual(length % 4, 0)
        XCTAssertGreaterThanOrEqual(length, 20)
        let name = Array(nexus.initiatorPortName.utf8)
        XCTAssertEqual(Array(id[4..<(4 + name.count)]), name)
        XCTAssertTrue(id[(4 + name.count)...].allSatisfy { $0 == 0 }, "null terminated and padded")
        XCTAssertGreaterThan(id.count, 4 + name.count)

        let short = NexusIdentity(initiatorName: "iqn.a", isid: 0, targetPortName: "t", relativeTargetPort: 1)
        XCTAssertEqual(short.transportID.count, 4 + 24, "\"iqn.a,i,0x000000000000\" + NUL, padded to 24")
    }

    func testIdentityDistinguishesISIDAndTargetPort() {
        var other = Fixture.nexusA
        other.isid += 1
        XCTAssertNotEqual(other, Fixture.nexusA)
        var port = Fixture.nexusA
        port.relativeTargetPort = 2
        XCTAssertNotEqual(port, Fixture.nexusA)
        XCTAssertEqual(CommandContext(portalGroupTag: 1).nexus, .unspecified)
    }
}
