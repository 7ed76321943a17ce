@testable import Appliance
import Config
import XCTest

/// Saving: whole-config validation before anything is written.
final class MenuSaveTests: MenuTestCase {
    /// The pages refuse edits that break the config, so an invalid config reaches "save"
    /// only through a bug or a future page; the save must still refuse it and say why.
    func testSaveWithAnInvalidConfigWritesNothing() throws {
        write(ExampleConfig.text, to: configPath)
        var config = try ConfigParser.load(path: configPath)
        config.targets[0].luns.append(LUNMapping(lun: 5, device: "nosuchdisk"))
        config.auth.incoming[0].secret = "tiny5"
        let terminal = ScriptedTerminal([""])
        let service = SpyServiceControl()
        let context = MenuContext(io: ConsoleIO(terminal),
                                  session: MenuSession(path: configPath, config: config, saved: config),
                                  service: service, status: FixedStatus())
        XCTAssertFalse(try SaveAction.run(context))
        assertShows(terminal, "Not saved: the config has 2 errors:")
        assertShows(terminal, "CHAP secret for 'alice' is shorter than 12 bytes")
        assertShows(terminal, "unknown device or combination 'nosuchdisk' for lun 5")
        XCTAssertTrue(terminal.output.contains("    > lun  5 nosuchdisk") || terminal.output.contains("> lun"),
                      "the offending line is shown")
        XCTAssertTrue(terminal.output.contains("  line "), "errors carry line numbers")
        XCTAssertTrue(terminal.output.contains("> incoming alice ********"), terminal.output)
        XCTAssertFalse(terminal.output.contains("tiny5"), "the secret on the offending line is hidden")
        XCTAssertEqual(read(configPath), Array(ExampleConfig.text.utf8))
        XCTAssertEqual(listDirectory(), ["targe.conf"])
        XCTAssertEqual(service.calls, [], "nothing to apply")
        assertFitsTerminal(terminal)
    }

    /// Edits that would break the config are refused where they are made.
    func testEditsThatBreakTheConfigAreRefused() throws {
        write(ExampleConfig.text, to: configPath)
        let terminal = runMenu([
            "3", "1", "m2", "1", "disk1 ram0", "", "0",      // both already in use; give up
            "5", "2", "storage1", "alice-secret-12", "", "0", // outgoing secret = an incoming one
            "0",
        ], expect: .quit(saved: false))
        assertShows(terminal, "'disk1' is used by both combination 'mirror' and combination 'm2'")
        assertShows(terminal, "must differ")
    }
}
