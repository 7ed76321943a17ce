import Appliance
import Config
import XCTest

/// Whole sessions driven through the Terminal seam, from the main menu to the file on disk.
final class MenuFlowTests: MenuTestCase {
    /// Two devices, a RAID1 of them, a target exporting it with a CHAP user, then save.
    func testBuildMirrorTargetWithCHAPAndSave() throws {
        let service = SpyServiceControl()
        let terminal = runMenu([
            "2",                                // devices to share
            "1", "d1", "ram 64MiB",
            "1", "d2", "ram 64MiB",
            "0",
            "3",                                // device combinations
            "1", "mirror", "1", "d1 d2",
            "0",
            "4",                                // sharing targets
            "1", "db", "", "mirror",            // name, default IQN, LUN 0
            "7", "1", "bob", "bob-secret-123", "0",   // CHAP users: add bob
            "0",                                // done with the target
            "0",
            "12", "",                           // save, then Enter
            "0",                                // quit: nothing unsaved
        ], service: service,
           status: FixedStatus(reloadLines: ["reloaded: 1 change applied", "  applied: target iqn.x:db added with LUN 0"]),
           expect: .quit(saved: true))

        var expected = TargeConfig()
        expected.devices = [DeviceConfig(name: "d1", source: .ram(bytes: 64 << 20)),
                            DeviceConfig(name: "d2", source: .ram(bytes: 64 << 20))]
        expected.combinations = [CombinationConfig(name: "mirror", raid: .raid1, members: ["d1", "d2"])]
        expected.targets = [TargetConfig(name: "db", iqn: ServerSettings.defaultNodeBase + ":db",
                                         luns: [LUNMapping(lun: 0, device: "mirror")],
                                         incoming: [CHAPUser(name: "bob", secret: "bob-secret-123")])]
        let saved = try ConfigParser.load(path: configPath)
        XCTAssertEqual(saved, expected, transcriptTail(terminal))
        XCTAssertEqual(try ConfigParser.parse(ConfigWriter.render(saved)), saved)
        XCTAssertEqual(service.calls, [], "saving reloads the running target; it does not restart it")
        assertShows(terminal, "applied: target iqn.x:db added with LUN 0")
        XCTAssertEqual(terminal.secretReads, 1, "the secret is read without echo")
        XCTAssertFalse(terminal.transcript.contains("bob-secret-123"), "the secret is never shown")
        assertShows(terminal, "bob (secret: 14 characters)")
        XCTAssertEqual(listDirectory(), ["targe.conf"], "no temp file left behind")
    }

    /// Each bad answer is refused with the reason and asked again; the good one is kept.
    func testInvalidInputsAreRefusedAndAskedAgain() throws {
        let terminal = runMenu([
            "1",                                         // network
            "1", "bad_host!", "storage1",
            "2", "10.0.0.5", "10.0.0.5/24",
            "3", "fd00::1", "10.0.0.1",
            "0",
            "2", "1",                                    // add a device
            "bad name", "bad/name", "f1",
            "relative.img", "/srv/f1.img",
            "1000", "1MiB",                              // offset
            "12XB", "1GiB",                              // size
            "fast", "buffered",                          // engine
            "1", "f1", "f2", "ram 1MiB",                 // a taken name
            "0",
            "6", "2", "5", "abc", "524288", "0",         // MaxBurstLength
            "7", "2", "0", "30", "0",                    // nop-timeout
            "9", "1", "iqn.bad", "iqn.2026-11.com.example:box", "0",
            "8", "1", "allow 10.0.0.0/33", "permit all", "allow 10.0.0.0/8", "0",
            "12", "",
            "0",
        ], expect: .quit(saved: true))

        for message in [
            "bad hostname 'bad_host!'",
            "Bad address '10.0.0.5'",
            "not in the same address family",
            "cannot contain spaces",
            "Bad device name 'bad/name'",
            "path 'relative.img' must be absolute",
            "must be a multiple of the block size",
            "Bad size '12XB'",
            "Bad engine 'fast'",
            "'f1' is already a device or combination",
            "'MaxBurstLength' must be between 512 and 16777215, got 5",
            "Bad number 'abc'",
            "'nop-timeout' must be between 1 and 86400, got 0",
            "Bad node base 'iqn.bad'",
            "Bad address '10.0.0.0/33'",
            "Give allow or deny",
        ] {
            assertShows(terminal, message)
        }
        let saved = try ConfigParser.load(path: configPath)
        XCTAssertEqual(saved.appliance?.hostname, "storage1")
        XCTAssertEqual(saved.appliance?.address, .static(address: "10.0.0.5", prefixLength: 24))
        XCTAssertEqual(saved.appliance?.gateway, "10.0.0.1")
        XCTAssertEqual(saved.device(named: "f1"),
                       DeviceConfig(name: "f1", source: .path("/srv/f1.img"), offset: 1 << 20, size: 1 << 30, engine: .buffered))
        XCTAssertEqual(saved.device(named: "f2")?.source, .ram(bytes: 1 << 20))
        XCTAssertEqual(saved.connection.maxBurstLength, 524288)
        XCTAssertEqual(saved.timeouts.nopTimeout, 30)
        XCTAssertEqual(saved.server.nodeBase, "iqn.2026-11.com.example:box")
        XCTAssertEqual(saved.clients, [AccessRule(action: .allow, match: .network(CIDR.parse("10.0.0.0/8")!))])
    }

    /// Quitting with changes asks first; declining keeps the menu going, and the file is
    /// left byte for byte as it was (comments and all).
    func testQuitWithoutSavingLeavesTheFileUntouched() throws {
        let original = ExampleConfig.text
        write(original, to: configPath)
        let terminal = runMenu([
            "2",
            "3", "disk1",                       // in use by a combination: refused
            "3", "ram0",                        // in use by a target: refused
            "1", "extra", "ram 1MiB",
            "0",
            "0", "n",                           // quit? no
            "0", "y",                           // quit? yes, discard
        ], expect: .quit(saved: false))
        assertShows(terminal, "Device disk1 is used by combination 'mirror'")
        assertShows(terminal, "Device ram0 is used by target 'db' (lun 1)")
        assertShows(terminal, "There are unsaved changes. Quit and discard them?")
        XCTAssertEqual(read(configPath), Array(original.utf8))
        XCTAssertEqual(listDirectory(), ["targe.conf"])
    }

    /// End of input ends the menu cleanly, without saving and without asking.
    func testEndOfInputLeavesWithoutSaving() throws {
        write(ExampleConfig.text, to: configPath)
        let terminal = runMenu(["2", "1", "extra", "ram 1MiB"], expect: .endOfInput)
        assertShows(terminal, "End of input: leaving the menu without saving.")
        XCTAssertEqual(read(configPath), Array(ExampleConfig.text.utf8))

        let fresh = directory + "/none.conf"
        let empty = ScriptedTerminal([])
        XCTAssertEqual(ConsoleMenu(configPath: fresh, terminal: empty).run(), .endOfInput)
        XCTAssertFalse(exists(fresh), "a missing file is only created by saving")
    }

    /// A file with errors is reported with its line numbers; declining to start over
    /// leaves it alone, and starting over does not replace it until a save.
    func testBrokenFileIsShownWithLineNumbers() throws {
        let broken = "[server]\nmax-sessions 0\n"
        write(broken, to: configPath)
        let terminal = runMenu(["n"], expect: .unreadableConfig)
        assertShows(terminal, "line 2: 'max-sessions' must be between 1 and 65535, got 0")
        runMenu(["y", "0"], expect: .quit(saved: false))
        XCTAssertEqual(read(configPath), Array(broken.utf8))
    }

    /// Renaming a device carries the new name into the combination that uses it, and a
    /// target's derived IQN follows the node base.
    func testRenamesFollowReferences() throws {
        write(ExampleConfig.text, to: configPath)
        let terminal = runMenu([
            "2", "2", "disk1", "1", "fast1", "0", "0",
            "9", "1", "iqn.2026-12.com.example", "0",
            "12", "y", "", "0",                 // the file has comments: save anyway
        ], expect: .quit(saved: true))
        let saved = try ConfigParser.load(path: configPath)
        XCTAssertEqual(saved.combination(named: "mirror")?.members, ["fast1", "disk2"])
        XCTAssertEqual(saved.target(named: "db")?.iqn, "iqn.2026-12.com.example:db")
        XCTAssertEqual(saved.target(named: "archive")?.iqn, "iqn.2026-11.com.example:archive", "explicit IQNs stay")
        assertShows(terminal, "has comments; saving rewrites it")
    }

    /// As in the parser, a node base nobody set follows the hostname, and so do the IQNs
    /// derived from it; once set by hand it stays.
    func testHostnameCarriesTheDefaultNodeBase() throws {
        runMenu([
            "2", "1", "r", "ram 1MiB", "0",
            "4", "1", "t", "", "r", "0", "0",
            "1", "1", "box1", "0",
            "12", "", "0",
        ], expect: .quit(saved: true))
        var saved = try ConfigParser.load(path: configPath)
        XCTAssertEqual(saved.server.nodeBase, "iqn.2026-11.org.targe:box1")
        XCTAssertEqual(saved.target(named: "t")?.iqn, "iqn.2026-11.org.targe:box1:t")

        runMenu(["9", "1", "iqn.2026-11.net.example", "0", "1", "1", "box2", "0", "12", "", "0"], expect: .quit(saved: true))
        saved = try ConfigParser.load(path: configPath)
        XCTAssertEqual(saved.server.nodeBase, "iqn.2026-11.net.example")
        XCTAssertEqual(saved.target(named: "t")?.iqn, "iqn.2026-11.net.example:t")
    }

    /// Client rules: added at a position, moved, removed, in order.
    func testClientRulesAreOrdered() throws {
        runMenu([
            "8",
            "1", "deny all",
            "1", "allow 192.168.10.0/24", "1",     // in front of deny all
            "1", "deny 192.168.10.66", "1",
            "3", "1", "2",                         // move the deny below the allow
            "1", "allow fd00::/8", "4",
            "2", "3",                              // remove deny all (now third)
            "0", "12", "", "0",
        ], expect: .quit(saved: true))
        let saved = try ConfigParser.load(path: configPath)
        XCTAssertEqual(saved.clients.map { "\($0.action.rawValue) \($0.match)" },
                       ["allow 192.168.10.0/24", "deny 192.168.10.66", "allow fd00::/8"])
    }
}
