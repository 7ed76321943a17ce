import Glibc
import NIOConcurrencyHelpers
@testable import Storage
import XCTest

/// The gateway lock decisions against a scripted cluster: who takes the image's lock, who
/// stands by, and that a dead holder is fenced (blocklisted, with the exact address the
/// cluster named) before the lock is taken.
final class RBDLockKeeperTests: XCTestCase {
    /// A cluster as one gateway's client sees it.
    final class Cluster: RBDLockClient, @unchecked Sendable {
        struct World {
            var ownerIsMe = false
            var owner: String?
            var watchers: Set<String> = []
            var blocklisted = false
            var metadata: [String: String] = [:]
            var acquireResult: Int32 = 0
            var calls: [String] = []
        }
        let world = NIOLockedValueBox(World())
        let me = "127.0.0.1:0/111"

        /// gw1 (at 127.0.0.2:0/222, alive) holds the lock and said so in the metadata.
        static func heldByGW1() -> Cluster {
            let cluster = Cluster()
            cluster.world.withLockedValue { w in
                w.owner = "127.0.0.2:0/222"
                w.watchers = ["127.0.0.2:0/222", cluster.me]
                w.metadata[RBDLockKeeper.ownerKey] = "gw1"
            }
            return cluster
        }

        func isLockOwner() -> Result<Bool, RBDErrno> {
            world.withLockedValue { w in
                w.calls.append("is-owner")
                return w.blocklisted ? .failure(RBDErrno(code: -ESHUTDOWN)) : .success(w.ownerIsMe)
            }
        }
        func acquireLock() -> Int32 {
            world.withLockedValue { w in
                w.calls.append("acquire")
                guard w.acquireResult == 0 else { return w.acquireResult }
                if let owner = w.owner, w.watchers.contains(owner) { return -EROFS }
                w.owner = me
                w.ownerIsMe = true
                return 0
            }
        }
        func releaseLock() -> Int32 {
            world.withLockedValue { w in
                w.calls.append("release")
                w.owner = nil
                w.ownerIsMe = false
                return 0
            }
        }
        func lockOwner() -> Result<String?, RBDErrno> {
            world.withLockedValue { w in w.calls.append("owner"); return .success(w.owner) }
        }
        func breakLock(owner: String) -> Int32 {
            world.withLockedValue { w in
                w.calls.append("break \(owner)")
                guard w.owner == owner else { return -EBUSY }
                w.owner = nil
                return 0
            }
        }
        func isWatching(_ address: String) -> Result<Bool, RBDErrno> {
            world.withLockedValue { w in w.calls.append("watching \(address)"); return .success(w.watchers.contains(address)) }
        }
        func metadata(_ key: String) -> String? { world.withLockedValue { $0.metadata[key] } }
        func setMetadata(_ key: String, _ value: String) -> Int32 {
            world.withLockedValue { w in w.calls.append("set \(key)=\(value)"); w.metadata[key] = value; return 0 }
        }
    }

    final class Log: @unchecked Sendable {
        let roles = NIOLockedValueBox<[GatewayRole]>([])
        let fenced = NIOLockedValueBox(0)
    }

    func keeper(_ cluster: Cluster, _ log: Log) -> RBDLockKeeper {
        RBDLockKeeper(client: cluster, gateway: "gw2", device: "vm1", notice: { _ in },
                      report: { role in log.roles.withLockedValue { $0.append(role) } },
                      fenced: { log.fenced.withLockedValue { $0 += 1 } })
    }

    func testNobodyHoldsItSoThisGatewayTakesIt() {
        let cluster = Cluster(), log = Log()
        let keeper = keeper(cluster, log)
        XCTAssertTrue(keeper.tick())
        XCTAssertEqual(cluster.world.withLockedValue { $0.calls }, ["is-owner", "owner", "acquire", "set targe.gateway=gw2"])
        XCTAssertTrue(keeper.tick())
        XCTAssertEqual(log.roles.withLockedValue { $0 }, [.active], "reported once")
    }

    func testALiveHolderIsLeftAlone() {
        let cluster = Cluster.heldByGW1(), log = Log()
        let keeper = keeper(cluster, log)
        XCTAssertTrue(keeper.tick())
        XCTAssertTrue(keeper.tick())
        XCTAssertEqual(log.roles.withLockedValue { $0 }, [.standby(owner: "gw1")])
        XCTAssertFalse(cluster.world.withLockedValue { $0.calls }.contains { $0.hasPrefix("break") || $0 == "acquire" })
    }

    func testADeadHolderIsFencedBeforeTheLockIsTaken() {
        let cluster = Cluster.heldByGW1(), log = Log()
        let keeper = keeper(cluster, log)
        keeper.tick()
        cluster.world.withLockedValue { _ = $0.watchers.remove("127.0.0.2:0/222") }  // its watch expired
        keeper.tick()
        let calls = cluster.world.withLockedValue { $0.calls }
        let broke = calls.firstIndex(of: "break 127.0.0.2:0/222")
        let acquired = calls.lastIndex(of: "acquire")
        XCTAssertNotNil(broke)
        XCTAssertNotNil(acquired)
        XCTAssertLessThan(broke ?? .max, acquired ?? .min, "blocklisted and broken before taken")
        XCTAssertEqual(log.roles.withLockedValue { $0 }, [.standby(owner: "gw1"), .active])
        XCTAssertEqual(cluster.metadata(RBDLockKeeper.ownerKey), "gw2")
    }

    func testAnotherGatewayQuickerStandsThisOneBy() {
        let cluster = Cluster(), log = Log()
        cluster.world.withLockedValue { $0.acquireResult = -EROFS }
        XCTAssertTrue(keeper(cluster, log).tick())
        XCTAssertEqual(log.roles.withLockedValue { $0 }, [.standby(owner: nil)])
    }

    func testFencedHolderStopsAndReconnects() {
        let table: [(String, (inout Cluster.World) -> Void)] = [
            ("blocklisted", { $0.blocklisted = true }),
            ("lock broken", { $0.ownerIsMe = false; $0.owner = "127.0.0.2:0/222" }),
        ]
        for (name, change) in table {
            let cluster = Cluster(), log = Log()
            let keeper = keeper(cluster, log)
            XCTAssertTrue(keeper.tick(), name)
            cluster.world.withLockedValue(change)
            XCTAssertFalse(keeper.tick(), name)
            XCTAssertEqual(log.fenced.withLockedValue { $0 }, 1, name)
            guard case .unavailable = log.roles.withLockedValue({ $0 }).last else { return XCTFail(name) }
        }
    }

    func testClusterErrorsMakeThePortUnavailable() {
        final class Unreachable: RBDLockClient, @unchecked Sendable {
            func isLockOwner() -> Result<Bool, RBDErrno> { .failure(RBDErrno(code: -ETIMEDOUT)) }
            func acquireLock() -> Int32 { -ETIMEDOUT }
            func releaseLock() -> Int32 { -ETIMEDOUT }
            func lockOwner() -> Result<String?, RBDErrno> { .failure(RBDErrno(code: -ETIMEDOUT)) }
            func breakLock(owner: String) -> Int32 { -ETIMEDOUT }
            func isWatching(_ address: String) -> Result<Bool, RBDErrno> { .failure(RBDErrno(code: -ETIMEDOUT)) }
            func metadata(_ key: String) -> String? { nil }
            func setMetadata(_ key: String, _ value: String) -> Int32 { -ETIMEDOUT }
        }
        let log = Log()
        let keeper = RBDLockKeeper(client: Unreachable(), gateway: "gw2", device: "vm1", notice: { _ in },
                                   report: { role in log.roles.withLockedValue { $0.append(role) } }, fenced: {})
        XCTAssertTrue(keeper.tick())
        guard case let .unavailable(reason) = log.roles.withLockedValue({ $0 }).first else { return XCTFail() }
        XCTAssertTrue(reason.contains("timed out"), reason)
    }

    /// SET TARGET PORT GROUPS: a standby takes the image over from a live holder, which is
    /// fenced first; an active gateway lets it go and leaves a free lock to the others.
    func testTakeOverFencesALiveHolderAndLetGoYields() {
        let cluster = Cluster(), log = Log()
        cluster.world.withLockedValue { w in
            w.owner = "127.0.0.2:0/222"
            w.watchers = ["127.0.0.2:0/222", cluster.me]
        }
        let keeper = keeper(cluster, log)
        keeper.tick()
        XCTAssertEqual(keeper.takeOver(), 0)
        let calls = cluster.world.withLockedValue { $0.calls }
        XCTAssertLessThan(calls.firstIndex(of: "break 127.0.0.2:0/222") ?? .max, calls.lastIndex(of: "acquire") ?? .min)
        XCTAssertEqual(log.roles.withLockedValue { $0 }.last, .active)

        XCTAssertEqual(keeper.letGo(), 0)
        XCTAssertEqual(log.roles.withLockedValue { $0 }.last, .standby(owner: nil))
        keeper.tick()  // the lock is free, but this gateway leaves it to the others for a while
        XCTAssertEqual(cluster.world.withLockedValue { $0.owner }, nil)
        XCTAssertEqual(cluster.world.withLockedValue { $0.calls }.filter { $0 == "acquire" }.count, 1)
    }
}
