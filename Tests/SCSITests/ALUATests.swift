import SCSI
import XCTest

/// ALUA for an LU that two gateways serve: REPORT TARGET PORT GROUPS lists both groups in
/// their states, a standby port refuses medium access with 04/0B but answers what SPC-4
/// allows in standby, and a state change reaches every I_T nexus as 2A/06.
final class ALUATests: XCTestCase {
    static func sharedLU(localGroup: UInt16) -> LogicalUnitInfo {
        var lu = Fixture.lu()
        lu.portGroups = [TargetPortGroup(id: 1, relativePort: 1, name: "gw1"),
                         TargetPortGroup(id: 2, relativePort: 2, name: "gw2")]
        lu.targetPortGroup = localGroup
        lu.relativeTargetPort = localGroup
        return lu
    }

    func state(_ view: ALUAView) -> LogicalUnitState {
        var state = Fixture.ready()
        state.setALUA(view)
        _ = decode(CDBBuilder.inquiry(), state: &state)  // no effect: INQUIRY keeps unit attentions
        _ = decode([0x03, 0, 0, 0, 18, 0], state: &state)  // REQUEST SENSE takes the 2A/06
        return state
    }

    /// (group id, state byte with PREF, relative port) per descriptor.
    func groups(_ data: [UInt8]) -> [(UInt16, UInt8, UInt16)] {
        stride(from: 4, to: data.count, by: 12).map { (o: Int) -> (UInt16, UInt8, UInt16) in
            let id: UInt16 = UInt16(data[o + 2]) << 8 | UInt16(data[o + 3])
            let port: UInt16 = UInt16(data[o + 10]) << 8 | UInt16(data[o + 11])
            return (id, data[o], port)
        }
    }

    func testBothGroupsWithTheirStates() {
        let table: [(local: UInt16, view: ALUAView, expected: [(UInt16, UInt8, UInt16)])] = [
            (1, ALUAView(local: .activeOptimized, owner: 1), [(1, 0x80, 1), (2, 0x02, 2)]),
            (2, ALUAView(local: .standby, owner: 1), [(1, 0x80, 1), (2, 0x02, 2)]),
            (2, ALUAView(local: .standby, owner: nil), [(1, 0x02, 1), (2, 0x02, 2)]),
            (2, ALUAView(local: .unavailable, owner: 1), [(1, 0x80, 1), (2, 0x03, 2)]),
            (2, ALUAView(local: .activeOptimized, owner: 2), [(1, 0x02, 1), (2, 0x80, 2)]),
        ]
        for row in table {
            var state = state(row.view)
            let data = dataIn(decode(MaintenanceCommandsTests.rtpg(), lu: Self.sharedLU(localGroup: row.local), state: &state))
            XCTAssertEqual(Array(data[0..<4]), [0, 0, 0, 24])
            let found = groups(data)
            XCTAssertEqual(found.map(\.0), row.expected.map(\.0), "\(row.view)")
            XCTAssertEqual(found.map(\.1), row.expected.map(\.1), "\(row.view)")
            XCTAssertEqual(found.map(\.2), row.expected.map(\.2), "\(row.view)")
            XCTAssertEqual(data[5], 0x0D, "AO, S and U supported")
        }
    }

    func testStandbyRefusesMediumAccessOnly() {
        let lu = Self.sharedLU(localGroup: 2)
        var standby = state(ALUAView(local: .standby, owner: 1))
        let refused: [[UInt8]] = [
            CDBBuilder.ten(0x28, lba: 0, blocks: 1), CDBBuilder.ten(0x2A, lba: 0, blocks: 1),
            [0x00, 0, 0, 0, 0, 0],                                 // TEST UNIT READY
            [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],                     // READ CAPACITY(10)
            [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0],                     // SYNCHRONIZE CACHE(10)
            [0x5E, 0, 0, 0, 0, 0, 0, 0x20, 0, 0],                  // PERSISTENT RESERVE IN
        ]
        for cdb in refused {
            XCTAssertEqual(sense(decode(cdb, lu: lu, state: &standby)), .notReadyTargetPortStandby, "\(cdb)")
        }
        let answered: [[UInt8]] = [
            CDBBuilder.inquiry(), CDBBuilder.inquiry(evpd: true, page: 0x83, allocation: 255),
            [0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],               // REPORT LUNS
            MaintenanceCommandsTests.rtpg(),
            [0x1A, 0x08, 0x3F, 0, 255, 0],                         // MODE SENSE(6)
        ]
        for cdb in answered {
            XCTAssertFalse(dataIn(decode(cdb, lu: lu, state: &standby)).isEmpty, "\(cdb)")
        }
        var unavailable = state(ALUAView(local: .unavailable, owner: nil))
        XCTAssertEqual(sense(decode(CDBBuilder.ten(0x28, lba: 0, blocks: 1), lu: lu, state: &unavailable)),
                       .notReadyTargetPortUnavailable)
        var active = state(ALUAView(local: .activeOptimized, owner: 2))
        guard case .dataIn = decode([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], lu: lu, state: &active) else {
            return XCTFail("the active port serves")
        }
    }

    func testChangeReachesEveryNexusOnce() {
        let lu = Self.sharedLU(localGroup: 2)
        var state = Fixture.ready(nexuses: [Fixture.nexusA, Fixture.nexusB])
        state.setALUA(ALUAView(local: .standby, owner: 1))
        state.setALUA(ALUAView(local: .standby, owner: 1))  // the same view again: no second condition
        for nexus in [Fixture.nexusA, Fixture.nexusB] {
            XCTAssertEqual(sense(decodeOnly([0x00, 0, 0, 0, 0, 0], from: nexus, state: &state, lu: lu)),
                           .asymmetricAccessStateChanged)
            XCTAssertEqual(sense(decodeOnly([0x00, 0, 0, 0, 0, 0], from: nexus, state: &state, lu: lu)),
                           .notReadyTargetPortStandby)
        }
        state.setALUA(ALUAView(local: .activeOptimized, owner: 2))
        XCTAssertEqual(sense(decodeOnly([0x00, 0, 0, 0, 0, 0], from: Fixture.nexusA, state: &state, lu: lu)),
                       .asymmetricAccessStateChanged)
        XCTAssertEqual(decodeOnly([0x00, 0, 0, 0, 0, 0], from: Fixture.nexusA, state: &state, lu: lu), .good)
    }

    func testPlainLUIsUnchanged() {
        let data = dataIn(decode(MaintenanceCommandsTests.rtpg()))
        XCTAssertEqual(data, [0, 0, 0, 12, 0x80, 0x01, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1])
    }
}

/// SET TARGET PORT GROUPS: what a parameter list asks of this gateway.
final class SetTargetPortGroupsTests: XCTestCase {
    static func list(_ descriptors: [(state: UInt8, group: UInt16)]) -> [UInt8] {
        [0, 0, 0, 0] + descriptors.flatMap { [$0.state, 0, UInt8($0.group >> 8), UInt8($0.group & 0xFF)] }
    }

    func testRequests() {
        let lu = ALUATests.sharedLU(localGroup: 2)
        let standby = ALUAView(local: .standby, owner: 1), active = ALUAView(local: .activeOptimized, owner: 2)
        typealias Row = (descriptors: [(state: UInt8, group: UInt16)], view: ALUAView,
                         expected: Result<SetTargetPortGroupsCommand.Request, SenseData>)
        let table: [Row] = [
            ([(0, 2)], standby, .success(.takeOver)),
            ([(0, 2), (2, 1)], standby, .success(.takeOver)),
            ([(0, 2)], active, .success(.nothing)),
            ([(0, 1)], active, .success(.letGo)),
            ([(2, 2)], active, .success(.letGo)),
            ([(0, 1)], standby, .success(.nothing)),
            ([(2, 1)], standby, .success(.nothing)),
            ([(0, 1), (0, 2)], standby, .failure(.invalidFieldInParameterList(byte: 10))),
            ([(0, 9)], standby, .failure(.invalidFieldInParameterList(byte: 6))),
            ([(1, 2)], standby, .failure(.invalidFieldInParameterList(byte: 4, bit: 3))),
        ]
        for row in table {
            XCTAssertEqual(SetTargetPortGroupsCommand.request(Self.list(row.descriptors), lu: lu, view: row.view), row.expected,
                           "\(row.descriptors)")
        }
        XCTAssertEqual(SetTargetPortGroupsCommand.request([0, 0, 0, 0, 0], lu: lu, view: standby), .failure(.parameterListLengthError))
    }

    func testOfferedOnlyWhereGatewaysShareTheLU() {
        let stpg: [UInt8] = [0xA4, 0x0A, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0]
        XCTAssertEqual(dataIn(decode(CDBBuilder.inquiry(), lu: ALUATests.sharedLU(localGroup: 1)))[5] & 0x30, 0x30, "TPGS=11b")
        XCTAssertEqual(dataIn(decode(CDBBuilder.inquiry()))[5] & 0x30, 0x10, "TPGS=01b")
        XCTAssertEqual(decode(stpg, lu: ALUATests.sharedLU(localGroup: 1)), .parameterData(length: 8))
        XCTAssertEqual(sense(decode(stpg)), .invalidFieldInCDB(byte: 1, bit: 4))
    }
}
