import Appliance
import Config
import XCTest

/// The Service and Status pages against their seams.
final class MenuServiceTests: MenuTestCase {
    func testServiceActionsCallTheServiceControl() {
        let service = SpyServiceControl()
        service.failures[.stop] = "the target did not stop within 10 s"
        let terminal = runMenu([
            "11",
            "1", "2", "3",
            "4", "n",                  // reboot not confirmed: nothing happens
            "4", "y",
            "5", "y",
            "0", "0",
        ], service: service, expect: .quit(saved: false))
        XCTAssertEqual(service.calls, [.start, .stop, .restart, .reboot, .powerOff])
        assertShows(terminal, "iSCSI service: running (test)")
        assertShows(terminal, "Start of the iSCSI service requested.")
        assertShows(terminal, "the target did not stop within 10 s")
        assertShows(terminal, "Restart of the iSCSI service requested.")
    }

    func testServiceActionsOnAnOrdinaryHostSaySo() {
        let terminal = runMenu(["11", "1", "3", "0", "0"], service: UnsupportedServiceControl(), expect: .quit(saved: false))
        assertShows(terminal, "Start is only available on the appliance")
        assertShows(terminal, "Restart is only available on the appliance")
    }

    /// Saving applies through a reload of the running target; when none answers, the menu
    /// says so and when the file will be used, and the file stays saved.
    func testSaveReportsAFailedReload() throws {
        let service = SpyServiceControl()
        let terminal = runMenu(["12", "", "0"], service: service, status: FixedStatus(reloadLines: nil),
                               expect: .quit(saved: true))
        assertShows(terminal, "Not applied now: target not running")
        assertShows(terminal, "uses the new config when it starts or restarts")
        XCTAssertEqual(service.calls, [])
        XCTAssertEqual(try ConfigParser.load(path: configPath), TargeConfig())
    }

    func testStatusIsPagedAScreenfulAtATime() {
        let lines = (1...50).map { "session \($0): iqn.1993-08.org.debian:01:host\($0) from 192.168.10.\($0)" }
        let terminal = runMenu(["10", "", "", "", "0"], status: FixedStatus(lines: lines), expect: .quit(saved: false))
        assertShows(terminal, "session 1: ")
        assertShows(terminal, "session 50: ")
        XCTAssertEqual(terminal.output.components(separatedBy: "-- more").count - 1, 2, "50 lines take three pages")

        let stopped = runMenu(["10", "q", "", "0"], status: FixedStatus(lines: lines), expect: .quit(saved: false))
        assertShows(stopped, "session 19: ")
        XCTAssertFalse(stopped.output.contains("session 20: "), "q stops after the first page")
    }

    func testStatusWhenTheTargetIsNotRunning() {
        let terminal = runMenu(["10", "", "0"], status: FixedStatus(lines: nil), expect: .quit(saved: false))
        assertShows(terminal, "target not running")
        let host = runMenu(["10", "", "0"], status: UnsupportedStatusSource(), expect: .quit(saved: false))
        assertShows(host, "only available on the appliance")
    }

    /// Long values wrap instead of running past column 79, everywhere in a session.
    func testLongValuesWrapWithinTheTerminal() throws {
        let longPath = "/srv/" + String(repeating: "very-long-directory-name/", count: 6) + "disk.img"
        let terminal = runMenu([
            "2", "1", "long", longPath, "", "", "", "2", "long", "0", "0",
            "4", "1", "t", "", "long", "3", String(repeating: "word ", count: 30), "", "0", "0",  // "" for "more"
            "12", "", "0",
        ], expect: .quit(saved: true))
        XCTAssertEqual(try ConfigParser.load(path: configPath).device(named: "long")?.path, longPath)
        XCTAssertTrue(terminal.output.contains("very-long-directory-name"))
    }
}
