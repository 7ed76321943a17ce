import XCTest
import Config

/// The example from CONFIG.md, verbatim: it is the contract, so it must parse and mean what
/// its comments say.
let contractExample = """
# ---- the appliance itself (used when running as PID 1) ----
[appliance]
hostname      storage1
address       192.168.10.20/24      # or: dhcp
gateway       192.168.10.1
console       ttyS0

# ---- server options ----
[server]
node-base     iqn.2026-11.com.example.storage1   # target IQNs default to <node-base>:<target name>
listen        0.0.0.0:3260  [::]:3260            # allowed server addresses (portals)
max-sessions  64
user          targe                               # unprivileged user the target drops to

# ---- connection settings (target-side values offered in negotiation) ----
[connection]
MaxRecvDataSegmentLength  262144
MaxBurstLength            1048576
FirstBurstLength          65536
InitialR2T                No
ImmediateData             Yes
MaxOutstandingR2T         1
MaxConnections            4
HeaderDigest              CRC32C,None
DataDigest                CRC32C,None

# ---- timeout settings ----
[timeouts]
nop-interval   5      # seconds between NOP-In pings on an idle connection; 0 = never
nop-timeout    15     # seconds to wait for the reply before dropping the connection
login-timeout  15

# ---- authentication for discovery and for targets without their own ----
[auth]
incoming  alice  alice-secret-12        # initiator must prove itself (CHAP)
outgoing  storage1  target-secret-12    # target proves itself (mutual CHAP)

# ---- allowed client addresses, in order; first match wins; default allow ----
[clients]
allow  192.168.10.0/24
deny   all

# ---- devices to share ----
[device disk1]
path    /dev/vdb
[device disk2]
path    /dev/vdc
[device scratch]
path    /var/lib/targe/scratch.img      # a regular file
offset  1MiB
size    10GiB
engine  buffered                        # aio (default; O_DIRECT) or buffered
[device ram0]
ram     256MiB

# ---- device combinations ----
[combination mirror]
raid     1
members  disk1 disk2
[combination big]
raid     0                              # concatenation; add `chunk 64KiB` to stripe
members  mirror scratch

# ---- sharing targets ----
[target db]
lun      0 mirror
lun      1 ram0
access   rw                             # or ro
allow    192.168.10.0/24                # networks and/or initiator names; default: all
allow    iqn.1993-08.org.debian:01:web1
incoming bob bob-secret-123             # this target's own CHAP users (replace [auth]'s)
alias    database
[target archive]
iqn      iqn.2026-11.com.example:archive
lun      0 big
access   ro
"""

final class ExampleConfigTests: XCTestCase {
    func testExampleParsesWithoutErrors() throws {
        XCTAssertNoThrow(try ConfigParser.parse(contractExample))
    }

    func testApplianceAndServer() throws {
        let config = try ConfigParser.parse(contractExample)
        let appliance = try XCTUnwrap(config.appliance)
        XCTAssertEqual(appliance.hostname, "storage1")
        XCTAssertEqual(appliance.address, .static(address: "192.168.10.20", prefixLength: 24))
        XCTAssertEqual(appliance.gateway, "192.168.10.1")
        XCTAssertEqual(appliance.console, "ttyS0")
        XCTAssertEqual(appliance.line, 2)

        XCTAssertEqual(config.server.nodeBase, "iqn.2026-11.com.example.storage1")
        XCTAssertEqual(config.server.listen, [Portal(host: "0.0.0.0", port: 3260), Portal(host: "::", port: 3260)])
        XCTAssertEqual(config.server.maxSessions, 64)
        XCTAssertEqual(config.server.user, "targe")
        XCTAssertEqual(config.server.lines["user"], 13)
        XCTAssertEqual(config.server.portalLines[Portal(host: "::", port: 3260)], 11)
    }

    func testConnectionAndTimeouts() throws {
        let config = try ConfigParser.parse(contractExample)
        let c = config.connection
        XCTAssertEqual(c.maxRecvDataSegmentLength, 262144)
        XCTAssertEqual(c.maxBurstLength, 1048576)
        XCTAssertEqual(c.firstBurstLength, 65536)
        XCTAssertFalse(c.initialR2T)
        XCTAssertTrue(c.immediateData)
        XCTAssertEqual(c.maxOutstandingR2T, 1)
        XCTAssertEqual(c.maxConnections, 4)
        XCTAssertEqual(c.headerDigest, [.crc32c, .none])
        XCTAssertEqual(c.dataDigest, [.crc32c, .none])
        XCTAssertEqual(c.lines["MaxConnections"], 23)
        XCTAssertEqual(config.timeouts, TimeoutSettings(nopInterval: 5, nopTimeout: 15, loginTimeout: 15))
    }

    func testAuthAndClients() throws {
        let config = try ConfigParser.parse(contractExample)
        XCTAssertEqual(config.auth.incoming, [CHAPUser(name: "alice", secret: "alice-secret-12")])
        XCTAssertEqual(config.auth.outgoing, CHAPUser(name: "storage1", secret: "target-secret-12"))
        XCTAssertEqual(config.clients.map(\.action), [.allow, .deny])
        XCTAssertEqual(config.clients[0].match, .network(CIDR.parse("192.168.10.0/24")!))
        XCTAssertEqual(config.clients[1].match, .all)
        XCTAssertEqual(config.clients.map(\.line), [40, 41])
        XCTAssertTrue(AccessRule.admits([192, 168, 10, 7], rules: config.clients))
        XCTAssertFalse(AccessRule.admits([10, 0, 0, 1], rules: config.clients))
    }

    func testDevicesAndCombinations() throws {
        let config = try ConfigParser.parse(contractExample)
        XCTAssertEqual(config.devices.map(\.name), ["disk1", "disk2", "scratch", "ram0"])
        XCTAssertEqual(config.devices[0].source, .path("/dev/vdb"))
        XCTAssertNil(config.devices[0].size)
        XCTAssertNil(config.devices[0].engine)
        let scratch = config.devices[2]
        XCTAssertEqual(scratch.source, .path("/var/lib/targe/scratch.img"))
        XCTAssertEqual(scratch.offset, 1 << 20)
        XCTAssertEqual(scratch.size, 10 << 30)
        XCTAssertEqual(scratch.engine, .buffered)
        XCTAssertEqual(config.devices[3].source, .ram(bytes: 256 << 20))

        XCTAssertEqual(config.combinations, [
            CombinationConfig(name: "mirror", raid: .raid1, members: ["disk1", "disk2"]),
            CombinationConfig(name: "big", raid: .raid0, members: ["mirror", "scratch"]),
        ])
        XCTAssertNil(config.combinations[1].chunk)  // concatenation
    }

    func testTargets() throws {
        let config = try ConfigParser.parse(contractExample)
        let db = try XCTUnwrap(config.target(named: "db"))
        XCTAssertEqual(db.iqn, "iqn.2026-11.com.example.storage1:db")
        XCTAssertEqual(db.alias, "database")
        XCTAssertEqual(db.luns, [LUNMapping(lun: 0, device: "mirror"), LUNMapping(lun: 1, device: "ram0")])
        XCTAssertEqual(db.access, .readWrite)
        XCTAssertEqual(db.allow, [.network(CIDR.parse("192.168.10.0/24")!), .initiator("iqn.1993-08.org.debian:01:web1")])
        XCTAssertEqual(db.incoming, [CHAPUser(name: "bob", secret: "bob-secret-123")])
        XCTAssertEqual(config.incomingUsers(for: db).map(\.name), ["bob"])       // replaces [auth]'s
        XCTAssertEqual(config.outgoingUser(for: db)?.name, "storage1")           // falls back to [auth]
        XCTAssertTrue(db.admits(initiatorName: "IQN.1993-08.org.debian:01:web1", addressBytes: [192, 168, 10, 5]))
        XCTAssertFalse(db.admits(initiatorName: "iqn.1993-08.org.debian:01:web2", addressBytes: [192, 168, 10, 5]))
        XCTAssertFalse(db.admits(initiatorName: "iqn.1993-08.org.debian:01:web1", addressBytes: [10, 0, 0, 5]))

        let archive = try XCTUnwrap(config.target(iqn: "IQN.2026-11.com.example:ARCHIVE"))
        XCTAssertEqual(archive.name, "archive")
        XCTAssertEqual(archive.iqn, "iqn.2026-11.com.example:archive")
        XCTAssertEqual(archive.luns, [LUNMapping(lun: 0, device: "big")])
        XCTAssertEqual(archive.access, .readOnly)
        XCTAssertEqual(archive.allow, [])  // default: all
        XCTAssertTrue(archive.admits(initiatorName: "iqn.2000-01.com.example:any", addressBytes: [1, 2, 3, 4]))
    }

    func testExampleFeatureGate() throws {
        let config = try ConfigParser.parse(contractExample)
        let gated = FeatureGate.unsupported(in: config)
        XCTAssertTrue(gated.allSatisfy { $0.message.hasSuffix("is not supported yet") })
        let lines = gated.map(\.line)
        // Everything in the contract's example is built (MaxConnections 4 included): the
        // appliance runs it as written.
        XCTAssertEqual(lines, [])
    }
}
