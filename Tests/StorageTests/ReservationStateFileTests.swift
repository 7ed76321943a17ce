import Glibc
import NIOCore
@testable import Storage
import XCTest

/// The persistent-reservation file: round trip, the newer slot wins, a torn slot falls back
/// to the other, another LU's reservations are not handed over, oversize payloads refused.
final class ReservationStateFileTests: StorageTestCase {
    func testSavedPayloadIsLoadedByTheNextOpen() throws {
        let p = ReservationStateFile.path(directory: directory, target: "db", lun: 3)
        XCTAssertEqual(p, directory + "/db-lun3.pr")
        let first = try ReservationStateFile(path: p, owner: "SERIAL1")
        XCTAssertNil(first.loaded, "a new file holds nothing")
        try first.save([1, 2, 3], on: loop).wait()
        try first.save([4, 5, 6, 7], on: loop).wait()
        first.close()
        let again = try ReservationStateFile(path: p, owner: "SERIAL1")
        defer { again.close() }
        XCTAssertEqual(again.loaded, [4, 5, 6, 7], "the newest save wins")
        XCTAssertNil(again.foreignOwner)
        // The sequence goes on from the file: the next save is newer still.
        try again.save([8], on: loop).wait()
        let third = try ReservationStateFile(path: p, owner: "SERIAL1")
        defer { third.close() }
        XCTAssertEqual(third.loaded, [8])
    }

    func testTornSlotFallsBackToTheOther() throws {
        let p = path("t-lun0.pr")
        let file = try ReservationStateFile(path: p, owner: "S")
        try file.save([1, 1], on: loop).wait()   // sequence 1: slot 1
        try file.save([2, 2], on: loop).wait()   // sequence 2: slot 0
        file.close()
        // Spoil slot 0's checksum, as a write cut short by a crash would.
        let fd = open(p, O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var junk: [UInt8] = [0xff, 0xff]
        XCTAssertEqual(pwrite(fd, &junk, 2, 25), 2)
        close(fd)
        let reopened = try ReservationStateFile(path: p, owner: "S")
        defer { reopened.close() }
        XCTAssertEqual(reopened.loaded, [1, 1], "the older whole slot is used")
    }

    func testAnotherOwnersReservationsAreIgnored() throws {
        let p = path("t-lun0.pr")
        let file = try ReservationStateFile(path: p, owner: "OLD-DEVICE")
        try file.save([9, 9, 9], on: loop).wait()
        file.close()
        let other = try ReservationStateFile(path: p, owner: "NEW-DEVICE")
        defer { other.close() }
        XCTAssertNil(other.loaded)
        XCTAssertEqual(other.foreignOwner, "OLD-DEVICE")
    }

    func testOversizePayloadIsRefusedAndNothingIsWritten() throws {
        let p = path("t-lun0.pr")
        let file = try ReservationStateFile(path: p, owner: "S")
        defer { file.close() }
        XCTAssertThrowsError(try file.save([UInt8](repeating: 1, count: ReservationStateFile.slotSize), on: loop).wait())
        var st = stat()
        XCTAssertEqual(stat(p, &st), 0)
        XCTAssertEqual(st.st_size, 0)
    }

    func testSaveAfterCloseFails() throws {
        let file = try ReservationStateFile(path: path("t-lun0.pr"), owner: "S")
        file.close()
        XCTAssertThrowsError(try file.save([1], on: loop).wait())
    }
}
