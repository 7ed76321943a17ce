@testable import DeviceServer
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SCSI
import Storage
import XCTest

/// Persistent reservations that two gateways' LUs keep in one (simulated) cluster object:
/// a registration through either is seen by both, a reservation holds against the other
/// gateway's initiators, and a change that loses a compare-and-swap race is applied again
/// on the newer state instead of overwriting it.
final class SharedReservationsTests: XCTestCase {
    /// The cluster object: bytes and a version; every attached store hears each change.
    final class Cluster: @unchecked Sendable {
        let box = NIOLockedValueBox<(bytes: [UInt8], version: UInt64, stores: [Store], interfere: (() -> Void)?)>(([], 1, [], nil))

        func store() -> Store {
            let store = Store(cluster: self)
            box.withLockedValue { $0.stores.append(store) }
            return store
        }
    }

    final class Store: SharedReservations, @unchecked Sendable {
        let cluster: Cluster
        let handler = NIOLockedValueBox<(@Sendable ([UInt8], UInt64) -> Void)?>(nil)
        init(cluster: Cluster) { self.cluster = cluster }

        func load() throws(StorageError) -> (bytes: [UInt8], version: UInt64) {
            cluster.box.withLockedValue { ($0.bytes, $0.version) }
        }
        func publish(_ bytes: [UInt8], replacing version: UInt64) throws(StorageError) -> UInt64? {
            let interfere = cluster.box.withLockedValue { c in defer { c.interfere = nil }; return c.interfere }
            interfere?()
            let result: (UInt64, [Store])? = cluster.box.withLockedValue { c in
                guard c.version == version else { return nil }
                c.bytes = bytes
                c.version += 1
                return (c.version, c.stores)
            }
            guard let (next, stores) = result else { return nil }
            for store in stores { store.handler.withLockedValue { $0 }?(bytes, next) }
            return next
        }
        func whenChanged(_ handler: @escaping @Sendable ([UInt8], UInt64) -> Void) { self.handler.withLockedValue { $0 = handler } }
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    override func tearDown() { try? group.syncShutdownGracefully() }

    static let target = "iqn.2026-12.org.targe.test:shared"

    func gateway(_ index: UInt16, _ cluster: Cluster, role: GatewayRole) throws -> LogicalUnit {
        let device = try SharedRAMDevice(size: 1 << 20, reservations: cluster.store())
        var info = LogicalUnitInfo(blockCount: 2048, targetName: Self.target, deviceName: "rbd:rbd/vm1")
        info.portGroups = [TargetPortGroup(id: 1, relativePort: 1, name: "gw1"), TargetPortGroup(id: 2, relativePort: 2, name: "gw2")]
        info.targetPortGroup = index
        info.relativeTargetPort = index
        let unit = LogicalUnit(info: info, device: device)
        device.become(role)
        return unit
    }

    static func nexus(_ host: String, port: UInt16) -> NexusIdentity {
        NexusIdentity(initiatorName: "iqn.2026-12.org.example:\(host)", isid: 0x8000_0000_0001, targetName: target,
                      portalGroupTag: port, relativeTargetPort: port)
    }

    final class Task: TaskHandle { var isAborted = false }
    final class Services: TaskSetServices {
        var copyReachableUnits: [LogicalUnit] = []
        let loop: EventLoop
        init(loop: EventLoop) { self.loop = loop }
        func abortTasks(of nexuses: [NexusIdentity], on unit: LogicalUnit) -> EventLoopFuture<Void> { loop.makeSucceededVoidFuture() }
    }

    /// One command from `nexus`, its parameter list as Data-Out; answers unit attentions first.
    func run(_ unit: LogicalUnit, _ cdb: [UInt8], from nexus: NexusIdentity, expected: Int = 0, dataOut: [UInt8] = [])
        throws -> SCSICompletion {
        let loop = group.next()
        for _ in 0..<4 {
            let context = CommandContext(lunList: [0], expectedDataTransferLength: UInt32(max(expected, dataOut.count)),
                                         portalGroupTag: nexus.relativeTargetPort, nexus: nexus)
            let completion = try loop.flatSubmit {
                unit.prepare(CDB(cdb), context: context)
                    .execute(dataOut: dataOut.isEmpty ? [] : [ByteBuffer(bytes: dataOut)], task: Task(),
                             services: Services(loop: loop), on: loop)
            }.wait()
            if let sense = completion.sense, sense.count > 2, sense[2] & 0x0F == 0x6 { continue }
            return completion
        }
        throw XCTSkip("unit attentions did not stop")
    }

    static func register(_ key: UInt64) -> (cdb: [UInt8], data: [UInt8]) {
        var data = [UInt8](repeating: 0, count: 24)
        for i in 0..<8 { data[8 + i] = UInt8(truncatingIfNeeded: key >> UInt64(56 - 8 * i)) }
        return ([0x5F, 0x00, 0, 0, 0, 0, 0, 0, 24, 0], data)
    }

    static func reserve(_ key: UInt64, type: UInt8 = 1) -> (cdb: [UInt8], data: [UInt8]) {
        var data = [UInt8](repeating: 0, count: 24)
        for i in 0..<8 { data[i] = UInt8(truncatingIfNeeded: key >> UInt64(56 - 8 * i)) }
        return ([0x5F, 0x01, type, 0, 0, 0, 0, 0, 24, 0], data)
    }

    /// READ KEYS: the registered keys, in order.
    func keys(_ unit: LogicalUnit, from nexus: NexusIdentity) throws -> [UInt64] {
        let completion = try run(unit, [0x5E, 0x00, 0, 0, 0, 0, 0, 0x01, 0, 0], from: nexus, expected: 256)
        let data = Array(completion.dataIn?.readableBytesView ?? [])
        guard data.count >= 8 else { return [] }
        let length = Int(data[4]) << 24 | Int(data[5]) << 16 | Int(data[6]) << 8 | Int(data[7])
        return stride(from: 8, to: 8 + length, by: 8).map { o in data[o..<o + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
    }

    func testRegistrationsAndReservationsHoldOnEveryGateway() throws {
        let cluster = Cluster()
        let active = try gateway(1, cluster, role: .active)
        let standby = try gateway(2, cluster, role: .standby(owner: "gw1"))
        let hostA = Self.nexus("a", port: 1), hostAviaB = Self.nexus("a", port: 2), hostB = Self.nexus("b", port: 1)

        var r = Self.register(0xAA)
        XCTAssertEqual(try run(active, r.cdb, from: hostA, dataOut: r.data).status, .good)
        r = Self.register(0xAB)
        XCTAssertEqual(try run(standby, r.cdb, from: hostAviaB, dataOut: r.data).status, .good, "PR OUT through the standby port")
        XCTAssertEqual(try keys(active, from: hostA), [0xAA, 0xAB])
        XCTAssertEqual(try keys(standby, from: hostAviaB), [0xAA, 0xAB])

        r = Self.reserve(0xAA)  // WRITE EXCLUSIVE, held by host a through port 1
        XCTAssertEqual(try run(active, r.cdb, from: hostA, dataOut: r.data).status, .good)
        let write = [0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0] as [UInt8]
        XCTAssertEqual(try run(active, write, from: hostB, dataOut: [UInt8](repeating: 1, count: 512)).status,
                       .reservationConflict, "an unregistered initiator cannot write")
        XCTAssertEqual(try run(active, write, from: hostA, dataOut: [UInt8](repeating: 1, count: 512)).status, .good)
    }

    func testAChangeThatLosesTheRaceIsAppliedToTheNewerState() throws {
        let cluster = Cluster()
        let one = try gateway(1, cluster, role: .active)
        let two = try gateway(2, cluster, role: .standby(owner: "gw1"))
        let hostA = Self.nexus("a", port: 1), hostC = Self.nexus("c", port: 2)
        // Between host a's read and its write, gateway 2 registers host c.
        cluster.box.withLockedValue { c in
            c.interfere = {
                let r = Self.register(0xCC)
                XCTAssertEqual(try? self.run(two, r.cdb, from: hostC, dataOut: r.data).status, .good)
            }
        }
        let r = Self.register(0xAA)
        XCTAssertEqual(try run(one, r.cdb, from: hostA, dataOut: r.data).status, .good)
        XCTAssertEqual(Set(try keys(one, from: hostA)), [0xAA, 0xCC], "neither registration lost")
        XCTAssertEqual(Set(try keys(two, from: hostC)), [0xAA, 0xCC])
        XCTAssertEqual(cluster.box.withLockedValue { $0.version }, 3, "two changes kept")
    }
}
