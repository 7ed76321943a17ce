import SCSI
import XCTest

final class ReadCapacityTests: XCTestCase {
    func testReadCapacity10() {
        let data = dataIn(decode([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]))
        XCTAssertEqual(data, [0, 0, 0x07, 0xFF, 0, 0, 0x02, 0x00])
    }

    func testReadCapacity10With4KBlocks() {
        let lu = Fixture.lu(blockCount: 0x1_0000, blockSize: 4096)
        XCTAssertEqual(dataIn(decode([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], lu: lu)),
                       [0, 0, 0xFF, 0xFF, 0, 0, 0x10, 0x00])
    }

    func testReadCapacity10SaturatesAbove32Bits() {
        for count: UInt64 in [0x1_0000_0000, 0x1_0000_0001, 0x10_0000_0000] {
            let lu = Fixture.lu(blockCount: count)
            XCTAssertEqual(Array(dataIn(decode([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], lu: lu)).prefix(4)),
                           [0xFF, 0xFF, 0xFF, 0xFF])
        }
        // The largest capacity that still fits: last LBA 0xFFFFFFFE.
        let fits = Fixture.lu(blockCount: 0xFFFF_FFFF)
        XCTAssertEqual(Array(dataIn(decode([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], lu: fits)).prefix(4)),
                       [0xFF, 0xFF, 0xFF, 0xFE])
    }

    func testReadCapacity10LBAWithoutPMIIsInvalid() {
        assertInvalidField(decode([0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0]), byte: 2)
        XCTAssertEqual(dataIn(decode([0x25, 0, 0, 0, 0, 1, 0, 0, 1, 0])).count, 8, "PMI=1 accepts an LBA")
    }

    func testReadCapacity16() {
        let lu = Fixture.lu(blockCount: 0x2_0000_0000, blockSize: 512)
        var lu512e = lu
        lu512e.physicalBlocksPerLogicalExponent = 3
        let data = dataIn(decode(CDBBuilder.readCapacity16(allocation: 32), lu: lu512e))
        XCTAssertEqual(data.count, 32)
        XCTAssertEqual(Array(data[0...7]), [0, 0, 0, 0x01, 0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(Array(data[8...11]), [0, 0, 0x02, 0x00])
        XCTAssertEqual(data[12] & 0x01, 0, "PROT_EN")
        XCTAssertEqual(data[12] & 0x0E, 0, "P_TYPE")
        XCTAssertEqual(data[13], 0x03, "P_I_EXPONENT 0, LBPPBE 3")
        XCTAssertEqual(data[14] & 0xC0, 0, "LBPME, LBPRZ clear")
        XCTAssertTrue(data[16...].allSatisfy { $0 == 0 })
    }

    func testReadCapacity16AllocationLengths() {
        for allocation: UInt32 in 0...16 {
            XCTAssertEqual(dataIn(decode(CDBBuilder.readCapacity16(allocation: allocation))).count, Int(allocation))
        }
        XCTAssertEqual(dataIn(decode(CDBBuilder.readCapacity16(allocation: 1000))).count, 32)
    }

    func testOtherServiceActionsOf9EAreInvalid() {
        var cdb = CDBBuilder.readCapacity16()
        cdb[1] = 0x12 // GET LBA STATUS, not supported yet
        assertInvalidField(decode(cdb), byte: 1, bit: 4)
    }

    func testNotReadyWhileStopped() {
        var state = Fixture.ready(LogicalUnitState(stopped: true))
        XCTAssertEqual(decode([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], state: &state),
                       .checkCondition(.notReadyInitializingCommandRequired))
        XCTAssertEqual(decode(CDBBuilder.readCapacity16(), state: &state),
                       .checkCondition(.notReadyInitializingCommandRequired))
    }
}
