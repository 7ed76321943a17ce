import XCTest
import Config

/// [device] and [combination] rules, and who may use what.
final class StorageRuleTests: XCTestCase {
    func testDuplicateNamesShareOneNamespace() {
        assertError(minimalConfig + "[device d]\nram 1MiB\n", line: 5, "duplicate name 'd': already a device at line 1")
        let text = minimalConfig + "[combination d]\nraid 0\nmembers x\n"
        assertError(text, line: 5, "duplicate name 'd': already a device at line 1")
    }

    func testDeviceNeedsExactlyOneSource() {
        assertError("[device d]\nengine buffered\n", line: 1, "[device d] needs a path, ram or rbd")
        assertError("[device d]\npath /dev/sdb\nram 1MiB\n", line: 3, "has both path and ram")
    }

    func testRamDeviceRejectsFileKeys() {
        assertError("[device d]\nram 1MiB\noffset 4KiB\n", line: 3, "'offset' does not apply to a ram device")
        assertError("[device d]\nram 1MiB\nsize 4KiB\n", line: 3, "'size' does not apply to a ram device")
        assertError("[device d]\nram 1MiB\nengine aio\n", line: 3, "'engine' does not apply to a ram device")
    }

    func testPathMustBeAbsolute() {
        assertError("[device d]\npath disk.img\n", line: 2, "path 'disk.img' must be absolute")
    }

    func testSizesMustBeBlockMultiples() {
        assertError("[device d]\npath /x\nsize 1000\n", line: 3, "must be a multiple of the block size (512 bytes)")
        assertError("[device d]\npath /x\noffset 100\n", line: 3, "'offset' (100 bytes) must be a multiple")
        assertError("[device d]\nram 1536B\nblock-size 4096\n", line: 2, "multiple of the block size (4096 bytes)")
        assertError("[device d]\npath /x\nsize 0\n", line: 3, "'size' must be greater than 0")
        assertError("[device d]\npath /x\nsize 12XB\n", line: 3, "bad size '12XB' for 'size'")
    }

    func testBlockSizeAndEngineValues() throws {
        assertError("[device d]\nram 1MiB\nblock-size 1024\n", line: 3, "block-size must be 512 or 4096, got 1024")
        assertError("[device d]\npath /x\nengine fast\n", line: 3, "bad engine 'fast' (expected aio or buffered)")
        let config = try parseValid("[device d]\npath /x\nblock-size 4096\nengine AIO\nsize entire\n")
        XCTAssertEqual(config.devices[0].blockSize, 4096)
        XCTAssertEqual(config.devices[0].engine, .aio)
        XCTAssertNil(config.devices[0].size)
    }

    func testCreateNeedsSize() throws {
        assertError("[device d]\npath /x\ncreate yes\n", line: 3, "'create yes' needs a size")
        let config = try parseValid("[device d]\npath /var/lib/targe/x.img\ncreate yes\nsize 1GiB\n")
        XCTAssertTrue(config.devices[0].create)
        XCTAssertEqual(config.devices[0].effectiveBlockSize, 512)
    }

    func testOverlappingSlicesOfOnePath() throws {
        let base = "[device a]\npath /dev/sdb\nsize 1GiB\n"
        assertError(base + "[device b]\npath /dev/sdb\noffset 512MiB\n", line: 4, "device 'b' overlaps device 'a' (line 1) on /dev/sdb")
        assertError("[device a]\npath /dev/sdb\n[device b]\npath /dev/sdb\noffset 1TiB\n", line: 3, "overlaps device 'a'")
        _ = try parseValid(base + "[device b]\npath /dev/sdb\noffset 1GiB\n")  // adjacent is fine
    }

    func testCombinationMembersMustExistOnce() {
        let devices = "[device a]\nram 1MiB\n[device b]\nram 1MiB\n"
        assertError(devices + "[combination m]\nraid 1\nmembers a c\n", line: 7, "unknown member 'c' in [combination m]")
        assertError(devices + "[combination m]\nraid 1\nmembers a a b\n", line: 7, "member 'a' appears twice in [combination m]")
    }

    func testDeviceUsedTwiceNamesBothUsers() {
        let devices = "[device a]\nram 1MiB\n[device b]\nram 1MiB\n"
        // Two combinations.
        assertError(devices + "[combination m]\nraid 0\nmembers a\n[combination n]\nraid 0\nmembers a b\n",
                    line: 10, "'a' is used by both combination 'm' (line 7) and combination 'n'")
        // A combination and a target.
        assertError(devices + "[combination m]\nraid 0\nmembers a\n[target t]\nlun 0 a\n",
                    line: 9, "'a' is used by both combination 'm' (line 7) and target 't' lun 0")
        // Two targets.
        assertError(devices + "[target t]\nlun 0 a\n[target u]\nlun 0 a\n",
                    line: 8, "'a' is used by both target 't' lun 0 (line 6) and target 'u' lun 0")
        // One target, two LUNs.
        assertError(devices + "[target t]\nlun 0 a\nlun 1 a\n", line: 7, "'a' is used by both target 't' lun 0")
    }

    func testCombinationMayBeMemberAndExported() throws {
        // As in the contract example: `mirror` is exported and is also inside `big`.
        let text = "[device a]\nram 1MiB\n[combination m]\nraid 0\nmembers a\n[combination big]\nraid 0\nmembers m\n"
            + "[target t]\nlun 0 m\n[target u]\nlun 0 big\n"
        _ = try parseValid(text)
        // ... but not a member twice, nor exported twice.
        assertError(text + "[combination other]\nraid 0\nmembers m\n", line: 15, "'m' is used by both combination 'big'")
        assertError(text + "[target v]\nlun 0 m\n", line: 14, "'m' is used by both target 't' lun 0")
    }

    func testCombinationCycles() {
        let text = "[combination a]\nraid 0\nmembers b\n[combination b]\nraid 0\nmembers a\n"
        assertError(text, line: 3, "combinations form a cycle: a -> b -> a")
        XCTAssertEqual(parseErrors(text).filter { $0.message.contains("cycle") }.count, 1)
        assertError("[combination a]\nraid 0\nmembers a\n", line: 3, "cycle: a -> a")
    }

    func testRaidLevelRules() throws {
        let devices = "[device a]\nram 1MiB\n[device b]\nram 1MiB\n"
        assertError(devices + "[combination m]\nraid 1\nmembers a\n", line: 7, "raid 1 needs at least 2 members, got 1")
        assertError(devices + "[combination m]\nraid 5\nmembers a b\n", line: 6, "bad raid level '5'")
        assertError(devices + "[combination m]\nmembers a b\n", line: 5, "[combination m] needs 'raid 0' or 'raid 1'")
        assertError(devices + "[combination m]\nraid 0\n", line: 5, "[combination m] needs members")
        assertError(devices + "[combination m]\nraid 1\nmembers a b\nchunk 64KiB\n", line: 8, "chunk applies only to raid 0")
        assertError(devices + "[combination m]\nraid 0\nmembers a b\nchunk 48KiB\n", line: 8, "chunk must be a power of two")
        assertError(devices + "[combination m]\nraid 0\nmembers a b\nchunk 2KiB\n", line: 8, "at least 4KiB")
        let config = try parseValid(devices + "[combination m]\nraid 0\nmembers a b\nchunk 64KiB\n")
        XCTAssertEqual(config.combinations[0].chunk, 65536)
        _ = try parseValid(devices + "[combination m]\nraid 0\nmembers a\n")  // one-member raid 0 is fine
    }
}

/// `[device NAME] rbd POOL/[NAMESPACE/]IMAGE`, `ceph-conf`, `ceph-id`.
final class RBDDeviceRuleTests: XCTestCase {
    private func config(_ device: String) -> String {
        "[device vm]\n" + device + "\n[target t]\nlun 0 vm\n"
    }

    func testImagesParseWithTheirClusterAndRoundTrip() throws {
        let parsed = try parseValid(config("rbd rbd/tenant/vm1\nceph-conf /etc/ceph/other.conf\nceph-id targe\nblock-size 4096"))
        XCTAssertEqual(parsed.devices.first?.source,
                       .rbd(RBDSource(pool: "rbd", namespace: "tenant", image: "vm1", cephConf: "/etc/ceph/other.conf",
                                      cephID: "targe")))
        XCTAssertEqual(parsed.devices.first?.blockSize, 4096)
        XCTAssertEqual(try ConfigParser.parse(ConfigWriter.render(parsed)), parsed, "the writer keeps it")
        let defaults = try parseValid(config("rbd rbd/vm1"))
        XCTAssertEqual(defaults.devices.first?.source, .rbd(RBDSource(pool: "rbd", image: "vm1")))
        XCTAssertFalse(ConfigWriter.render(defaults).contains("ceph-id"), "defaults are not written")
    }

    func testWhatDoesNotApplyIsRefused() {
        assertError(config("rbd vm1"), line: 2, "bad rbd image 'vm1'")
        assertError(config("rbd rbd/vm1@snap"), line: 2, "bad rbd image")
        assertError(config("rbd rbd//vm1"), line: 2, "bad rbd image")
        assertError(config("rbd rbd/vm1\nsize 1GiB"), line: 3, "'size' does not apply to an rbd device")
        assertError(config("rbd rbd/vm1\npath /dev/sdb"), line: 3, "'path' does not apply to an rbd device")
        assertError(config("rbd rbd/vm1\nceph-conf ceph.conf"), line: 3, "must be absolute")
        assertError(config("rbd rbd/vm1\nceph-id x/y"), line: 3, "bad ceph-id")
        assertError(config("path /srv/a.img\nceph-id admin"), line: 3, "'ceph-id' applies only to an rbd device")
    }
}
