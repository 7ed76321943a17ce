import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Storage
import XCTest

final class CombinationBuilderTests: StorageTestCase {
    let mib: UInt64 = 1 << 20

    func rams(_ names: [String], size: UInt64 = 1 << 20) throws -> [String: BlockDevice] {
        var out: [String: BlockDevice] = [:]
        for n in names { out[n] = try RAMDevice(name: n, size: size) }
        return out
    }

    /// The config contract's example: `mirror` = raid 1 of disk1 disk2; `big` = raid 0 of mirror and scratch.
    func testContractExampleNests() throws {
        var devices = try rams(["disk1", "disk2"])
        devices["scratch"] = try RAMDevice(name: "scratch", size: 2 * mib)
        let failures = NIOLockedValueBox<[String]>([])
        let options = CombinationBuilder.Options(stateDirectory: directory, initialSync: .assumeInSync,
                                                 onMemberFailure: { c, m, _ in failures.withLockedValue { $0.append("\(c)/\(m)") } })
        let built = try CombinationBuilder.buildAll([
            CombinationSpec(name: "big", level: .raid0, members: ["mirror", "scratch"]),
            CombinationSpec(name: "mirror", level: .raid1, members: ["disk1", "disk2"]),
        ], devices: devices, options: options)
        let big = try XCTUnwrap(built["big"] as? RAID0Device)
        let mirror = try XCTUnwrap(built["mirror"] as? RAID1Device)
        defer { big.close() }
        XCTAssertEqual(big.size, 3 * mib)
        XCTAssertTrue(big.members[0] === mirror)
        XCTAssertEqual(mirror.members.map(\.name), ["disk1", "disk2"])
        let data = pattern(Int(3 * mib), seed: 4)
        try writeChunks(big, offset: 0, [data])
        XCTAssertEqual(try readBack(devices["disk1"]!, offset: 0, length: Int(mib)), Array(data[..<Int(mib)]))
        XCTAssertEqual(try readBack(devices["disk2"]!, offset: 0, length: Int(mib)), Array(data[..<Int(mib)]))
        XCTAssertEqual(try readBack(devices["scratch"]!, offset: 0, length: Int(2 * mib)), Array(data[Int(mib)...]))
        XCTAssertEqual(access(directory + "/mirror.health", F_OK), 0, "state beside the config")
        XCTAssertEqual(access(directory + "/mirror.bitmap", F_OK), 0)
        mirror.failMember(1, reason: "test", on: loop)
        XCTAssertEqual(failures.withLockedValue { $0 }, ["mirror/disk2"])
    }

    func testStripeAndErrorsNameTheCombination() throws {
        let built = try CombinationBuilder.buildAll([CombinationSpec(name: "s", level: .raid0, members: ["a", "b"], chunk: 65536)],
                                                    devices: try rams(["a", "b"]))
        XCTAssertEqual((built["s"] as? RAID0Device)?.layout, .stripe(chunk: 65536))
        built["s"]!.close()

        func error(_ specs: [CombinationSpec], _ names: [String]) -> StorageError? {
            do {
                _ = try CombinationBuilder.buildAll(specs, devices: try rams(names))
                return nil
            } catch {
                return error as? StorageError
            }
        }
        guard case .combination("x", let cycle)? = error([
            CombinationSpec(name: "x", level: .raid0, members: ["y", "a"]),
            CombinationSpec(name: "y", level: .raid1, members: ["x", "b"]),
        ], ["a", "b"]) else { return XCTFail("cycle") }
        XCTAssertTrue(cycle.contains("x -> y -> x"), cycle)
        guard case .combination("y", let reuse)? = error([
            CombinationSpec(name: "x", level: .raid0, members: ["a"]),
            CombinationSpec(name: "y", level: .raid0, members: ["a", "b"]),
        ], ["a", "b"]) else { return XCTFail("reuse") }
        XCTAssertTrue(reuse.contains("already used by combination x"), reuse)
        guard case .combination("x", let unknown)? = error([CombinationSpec(name: "x", level: .raid1, members: ["a", "zz"])], ["a"]) else {
            return XCTFail("unknown")
        }
        XCTAssertTrue(unknown.contains("zz"))
        guard case .combination("m", _)? = error([CombinationSpec(name: "m", level: .raid1, members: ["a"])], ["a"]) else {
            return XCTFail("one-member mirror")
        }
    }

    func testStateFilesGoThroughTheOpener() throws {
        final class Recording: FileOpener, @unchecked Sendable {
            let opened = NIOLockedValueBox<[String]>([])
            func openReadWrite(path: String, createSize: UInt64?) -> Result<Int32, OpenFailure> {
                opened.withLockedValue { $0.append("\(path) \(createSize.map(String.init) ?? "-")") }
                return DirectFileOpener().openReadWrite(path: path, createSize: createSize)
            }
        }
        let opener = Recording()
        let built = try CombinationBuilder.buildAll([CombinationSpec(name: "m", level: .raid1, members: ["a", "b"])],
                                                    devices: try rams(["a", "b"]),
                                                    options: .init(stateDirectory: directory, opener: opener))
        built["m"]!.close()
        XCTAssertEqual(opener.opened.withLockedValue { $0 }, ["\(directory)/m.bitmap 0", "\(directory)/m.health 0"])
        // A refusing opener is an error naming the file.
        struct Refusing: FileOpener {
            func openReadWrite(path: String, createSize: UInt64?) -> Result<Int32, OpenFailure> { .failure(OpenFailure(EACCES)) }
        }
        XCTAssertThrowsError(try CombinationBuilder.buildAll([CombinationSpec(name: "n", level: .raid1, members: ["a", "b"])],
                                                             devices: try rams(["a", "b"]),
                                                             options: .init(stateDirectory: directory, opener: Refusing()))) { error in
            guard case .stateFile(path: "\(self.directory)/n.bitmap", _)? = error as? StorageError else { return XCTFail("\(error)") }
        }
    }

    func testBuildChecksMemberOrder() throws {
        let devices = try rams(["a", "b"])
        XCTAssertThrowsError(try CombinationBuilder.build(CombinationSpec(name: "m", level: .raid1, members: ["a", "b"]),
                                                          members: [devices["b"]!, devices["a"]!]))
        let mirror = try CombinationBuilder.build(CombinationSpec(name: "m", level: .raid1, members: ["a", "b"]),
                                                  members: [devices["a"]!, devices["b"]!])
        XCTAssertTrue(mirror is RAID1Device)
        mirror.close()
    }
}
