@testable import DeviceServer
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SCSI
import Storage
import XCTest

/// A RAM device that two gateways "share": the test says which role this gateway has.
final class SharedRAMDevice: SharedDevice, @unchecked Sendable {
    let name = "shared"
    let hasVolatileCache = false
    let gatewayName = "gw2"
    private let inner: RAMDevice
    private let box = NIOLockedValueBox<(role: GatewayRole, handler: (@Sendable (GatewayRole) -> Void)?)>(
        (.unavailable(reason: "not open"), nil))

    init(size: UInt64, reservations: SharedReservations? = nil) throws {
        inner = try RAMDevice(name: "shared", size: size)
        sharedReservations = reservations
    }

    var size: UInt64 { inner.size }
    let sharedReservations: SharedReservations?
    var role: GatewayRole { box.withLockedValue { $0.role } }
    func whenRoleChanges(_ handler: @escaping @Sendable (GatewayRole) -> Void) { box.withLockedValue { $0.handler = handler } }
    let requests = NIOLockedValueBox<[Bool]>([])
    func requestRole(active: Bool) throws(StorageError) {
        requests.withLockedValue { $0.append(active) }
        become(active ? .active : .standby(owner: nil))
    }
    func become(_ role: GatewayRole) {
        let handler = box.withLockedValue { b in b.role = role; return b.handler }
        handler?(role)
    }

    func read(offset: UInt64, length: Int, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        inner.read(offset: offset, length: length, on: eventLoop)
    }
    func write(offset: UInt64, buffers: [ByteBuffer], forceUnitAccess: Bool, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        inner.write(offset: offset, buffers: buffers, forceUnitAccess: forceUnitAccess, on: eventLoop)
    }
    func flush(on eventLoop: EventLoop) -> EventLoopFuture<Void> { inner.flush(on: eventLoop) }
    func close() { inner.close() }
}

final class SharedDeviceTests: XCTestCase {
    static let groups = [TargetPortGroup(id: 1, relativePort: 1, name: "gw1"), TargetPortGroup(id: 2, relativePort: 2, name: "gw2")]

    /// A shared RAM device and an LU over it as gateway gw2 (port group 2) sees it.
    static func gatewayTwo() throws -> (SharedRAMDevice, DeviceServerFixture, LogicalUnit) {
        let device = try SharedRAMDevice(size: 1 << 20)
        let fixture = try DeviceServerFixture(device: device)
        var info = fixture.unit.info
        info.portGroups = groups
        info.targetPortGroup = 2
        info.relativeTargetPort = 2
        return (device, fixture, LogicalUnit(info: info, device: device))
    }

    func testRoleMapsToALUAView() {
        var info = LogicalUnitInfo(blockCount: 8, targetName: "iqn.2024-01.org.targe:vm", deviceName: "vm1")
        info.portGroups = Self.groups
        info.targetPortGroup = 2
        let table: [(GatewayRole, ALUAView)] = [
            (.active, ALUAView(local: .activeOptimized, owner: 2)),
            (.standby(owner: "gw1"), ALUAView(local: .standby, owner: 1)),
            (.standby(owner: "gw9"), ALUAView(local: .standby, owner: nil)),
            (.standby(owner: "gw2"), ALUAView(local: .standby, owner: nil)),  // stale metadata naming this gateway
            (.standby(owner: nil), ALUAView(local: .standby, owner: nil)),
            (.unavailable(reason: "fenced"), ALUAView(local: .unavailable, owner: nil)),
        ]
        for (role, view) in table { XCTAssertEqual(LogicalUnit.aluaView(role, info: info), view, "\(role)") }
    }

    func testTheLUFollowsTheGatewayRole() throws {
        let (device, fixture, unit) = try Self.gatewayTwo()
        _ = try fixture.run([0x00, 0, 0, 0, 0, 0], expected: 0, unit: unit)  // POWER ON unit attention
        let read = DeviceServerFixture.read10(lba: 0, blocks: 1)
        XCTAssertEqual(ParsedSense(try fixture.run(read, expected: 512, unit: unit).completion.sense),
                       ParsedSense(key: 0x2, asc: 0x04, ascq: 0x0C), "unavailable until the lock is settled")

        device.become(.standby(owner: "gw1"))
        XCTAssertEqual(ParsedSense(try fixture.run(read, expected: 512, unit: unit).completion.sense),
                       ParsedSense(key: 0x6, asc: 0x2A, ascq: 0x06), "ASYMMETRIC ACCESS STATE CHANGED")
        XCTAssertEqual(ParsedSense(try fixture.run(read, expected: 512, unit: unit).completion.sense),
                       ParsedSense(key: 0x2, asc: 0x04, ascq: 0x0B), "standby")

        device.become(.active)
        XCTAssertEqual(ParsedSense(try fixture.run(read, expected: 512, unit: unit).completion.sense),
                       ParsedSense(key: 0x6, asc: 0x2A, ascq: 0x06))
        let served = try fixture.run(read, expected: 512, unit: unit).completion
        XCTAssertEqual(served.status, .good)
        XCTAssertEqual(served.dataIn?.readableBytes, 512)
    }

    func testSetTargetPortGroupsTakesTheDeviceOver() throws {
        let (device, fixture, unit) = try Self.gatewayTwo()
        device.become(.standby(owner: "gw1"))
        _ = try fixture.run([0x00, 0, 0, 0, 0, 0], expected: 0, unit: unit)  // POWER ON unit attention
        let stpg: [UInt8] = [0xA4, 0x0A, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0]
        let makeGroup2Active: [UInt8] = [0, 0, 0, 0, 0x00, 0, 0, 2]
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let context = CommandContext(lunList: [0], expectedDataTransferLength: 8, portalGroupTag: 2, nexus: DeviceServerFixture.nexus)
        let completion = try loop.flatSubmit {
            unit.prepare(CDB(stpg), context: context)
                .execute(dataOut: [ByteBuffer(bytes: makeGroup2Active)], task: DeviceServerFixture.Task(),
                         services: DeviceServerFixture.Services(loop: loop), on: loop)
        }.wait()
        XCTAssertEqual(completion.status, .good)
        XCTAssertEqual(device.requests.withLockedValue { $0 }, [true], "the device was asked to take over")
        XCTAssertEqual(unit.withGuarded { $0.scsi.alua.local }, .activeOptimized)
    }
}
