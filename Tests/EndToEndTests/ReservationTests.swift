// Reservations between I_T nexuses over raw sessions: SPC-2 RESERVE released by the
// holder's logout, and persistent reservations with APTPL that survive a target restart.
import Foundation
import XCTest

final class ReservationTests: EndToEndTestCase {
    private let conflict: UInt8 = 0x18

    private func session(_ targe: TargeProcess, _ initiator: String) throws -> RawSession {
        let s = try RawSession(host: targe.host, port: targe.port)
        try s.login(initiator: "iqn.2026-11.org.targe.test:\(initiator)", target: ConfigBuilder.iqn("resv"),
                    headerDigest: "None")
        try s.clearUnitAttentions()
        return s
    }

    private func config() -> ConfigBuilder {
        var config = ConfigBuilder()
        config.fileDevice("disk", size: "8MiB")
        config.target("resv", luns: ["disk"])
        return config
    }

    func testReserve6HolderBlocksOthersUntilItsNexusIsLost() throws {
        let targe = try startTarge(config())
        let a = try session(targe, "host-a")
        let b = try session(targe, "host-b")
        XCTAssertEqual(try a.execute(ReservationCDB.reserve6).status, 0)
        XCTAssertEqual(try a.execute(ReservationCDB.read10, expectedIn: 512).status, 0, "the holder reads")
        XCTAssertEqual(try b.execute(ReservationCDB.read10, expectedIn: 512).status, conflict, "another nexus conflicts")
        // The holder's connection goes away: its nexus is lost, and so is the reservation.
        a.conn.close()
        let deadline = Date().addingTimeInterval(10)
        var status: UInt8 = conflict
        while status != 0 && Date() < deadline {
            usleep(100_000)
            status = try b.execute(ReservationCDB.read10, expectedIn: 512).status
        }
        XCTAssertEqual(status, 0, "released with the holder's nexus")
        b.conn.close()
    }

    func testPersistentReservationWithAPTPLSurvivesRestart() throws {
        let targe = try startTarge(config())
        let key: UInt64 = 0x1122_3344_5566_7788
        let a = try session(targe, "host-a")
        let register = try a.execute(ReservationCDB.persistentReserveOut(serviceAction: 0x00),
                                     dataOut: ReservationCDB.parameters(key: 0, serviceActionKey: key, aptpl: true))
        XCTAssertEqual(register.status, 0, "REGISTER with APTPL: \(register)")
        let reserve = try a.execute(ReservationCDB.persistentReserveOut(serviceAction: 0x01, type: 0x03),
                                    dataOut: ReservationCDB.parameters(key: key))
        XCTAssertEqual(reserve.status, 0, "RESERVE exclusive access: \(reserve)")
        a.conn.close()
        XCTAssertTrue(targe.stop()?.clean ?? false)
        let file = targe.dir.appendingPathComponent("resv-lun0.pr").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: file), "the reservations are kept beside the config")

        try targe.start()
        let b = try session(targe, "host-b")
        let held = try b.execute(ReservationCDB.persistentReserveIn(serviceAction: 0x01), expectedIn: 256)
        XCTAssertEqual(held.status, 0, "\(held)")
        XCTAssertGreaterThanOrEqual(held.data.count, 24, "a reservation is reported: \(held.data)")
        if held.data.count >= 24 {
            XCTAssertEqual(ReservationCDB.be64(held.data, at: 8), key, "the reservation key")
            XCTAssertEqual(held.data[21] & 0x0f, 0x03, "type exclusive access")
        }
        let keys = try b.execute(ReservationCDB.persistentReserveIn(serviceAction: 0x00), expectedIn: 256)
        XCTAssertEqual(keys.data.count, 16, "one registered key: \(keys.data)")
        XCTAssertEqual(try b.execute(ReservationCDB.read10, expectedIn: 512).status, conflict,
                       "exclusive access still holds after the restart")
        b.conn.close()
    }

    /// `--config` relative to the working directory, with the privilege drop: the state
    /// files beside it are opened by the privileged helper (which takes absolute paths only),
    /// so the reservation is saved rather than silently not kept.
    func testAPTPLIsSavedWithARelativeConfigAfterThePrivilegeDrop() throws {
        guard getuid() == 0 else { throw XCTSkip("the privilege drop needs the test to run as root") }
        guard getpwnam("nobody") != nil else { throw XCTSkip("no user 'nobody' on this machine") }
        var relative = config()
        relative.user = "nobody"
        let dir = try makeScratchDir()
        try relative.render(dir: dir.path).write(to: dir.appendingPathComponent("targe.conf"), atomically: true, encoding: .utf8)
        let targe = TargeProcess(binary: try Paths.targeBinary(), arguments: ["serve", "--config", "targe.conf"], dir: dir)
        try targe.start()
        defer { _ = targe.stop() }
        let a = try session(targe, "host-a")
        let register = try a.execute(ReservationCDB.persistentReserveOut(serviceAction: 0x00),
                                     dataOut: ReservationCDB.parameters(key: 0, serviceActionKey: 0x77, aptpl: true))
        XCTAssertEqual(register.status, 0, "REGISTER with APTPL: \(register)")
        let log = (try? String(contentsOfFile: targe.stderrPath, encoding: .utf8)) ?? ""
        XCTAssertFalse(log.contains("will not survive a restart"), "the reservation file was refused:\n\(log)")
        let saved = FileManager.default.contents(atPath: dir.appendingPathComponent("resv-lun0.pr").path) ?? Data()
        XCTAssertFalse(saved.isEmpty, "nothing was saved beside the relative config")
    }
}
