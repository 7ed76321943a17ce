// EXTENDED COPY between two LUs of one target, as VMware's XCOPY offload or sg_xcopy use it:
// the copy manager (LUN 0) finds both LUs by the NAA designators of their VPD page 83h,
// copies more than one internal chunk, and the destination file then holds the source bytes;
// RECEIVE COPY RESULTS reports the held status. An LU of another target is not reachable.
import Foundation
import XCTest

final class ExtendedCopyTests: EndToEndTestCase {
    func testCopyBetweenTwoLUNsOfOneTarget() throws {
        var config = ConfigBuilder()
        config.fileDevice("a", size: "4MiB")
        config.fileDevice("b", size: "4MiB")
        config.fileDevice("other", size: "4MiB")
        config.target("pair", luns: ["a", "b"])
        config.target("elsewhere", luns: ["other"])
        let targe = try startTarge(config)
        let sourcePath = targe.dir.appendingPathComponent("a.img").path
        let destinationPath = targe.dir.appendingPathComponent("b.img").path
        // The source's first 1.5 MiB, written into its file (the buffered engine shares the
        // page cache with this process).
        let pattern = (0..<(3 << 19)).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 >> 9) }
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: sourcePath))
        handle.write(Data(pattern))
        try handle.close()

        let session = try RawSession(host: targe.host, port: targe.port)
        try session.login(initiator: "iqn.2026-11.org.targe.test:copier", target: ConfigBuilder.iqn("pair"),
                          headerDigest: "None")
        session.timeout = 60
        let source = try naaDesignator(session, lun: 0)
        let destination = try naaDesignator(session, lun: 1)
        XCTAssertNotEqual(source, destination)
        let foreign: [UInt8]
        do {
            let other = try RawSession(host: targe.host, port: targe.port)
            try other.login(initiator: "iqn.2026-11.org.targe.test:copier", target: ConfigBuilder.iqn("elsewhere"),
                            headerDigest: "None")
            foreign = try naaDesignator(other, lun: 0)
            other.conn.close()
        }

        // 3072 blocks of 512 bytes from LBA 0 of LUN 0 to LBA 100 of LUN 1, held as list 5.
        session.lun = 0
        let blocks = UInt16(pattern.count / 512)
        let copy = try session.execute(XCopy.cdb(length: 16 + 64 + 28),
                                       dataOut: XCopy.list(id: 5, targets: [source, destination],
                                                           segment: (0, 1, blocks, 0, 100)))
        XCTAssertEqual(copy.status, 0, "EXTENDED COPY: \(copy)")
        let copied = try XCTUnwrap(FileHandle(forReadingAtPath: destinationPath))
        try copied.seek(toOffset: 100 * 512)
        let landed = [UInt8](copied.readData(ofLength: pattern.count))
        try copied.close()
        XCTAssertTrue(landed == pattern, "LUN 1 holds the copy from LBA 100")

        let status = try session.execute(XCopy.copyStatus(listID: 5), expectedIn: 1024)
        XCTAssertEqual(status.status, 0, "RECEIVE COPY RESULTS: \(status)")
        XCTAssertEqual(Array(status.data.prefix(12)),
                       [0, 0, 0, 8, 0x00, 0, 1, 0x00] + be32(UInt32(pattern.count)),
                       "completed without error, 1 segment, the bytes copied")

        // A designator of another target's LU: COPY ABORTED, COPY TARGET DEVICE NOT REACHABLE,
        // and nothing written.
        let refused = try session.execute(XCopy.cdb(length: 16 + 64 + 28),
                                          dataOut: XCopy.list(id: 6, targets: [source, foreign],
                                                              segment: (0, 1, 8, 0, 0)))
        XCTAssertEqual(refused.status, 2)
        XCTAssertEqual(refused.senseKey, 0x0A, "COPY ABORTED: \(refused)")
        XCTAssertEqual(refused.asc, 0x0D)
        let otherFile = try Data(contentsOf: targe.dir.appendingPathComponent("other.img"))
        XCTAssertTrue(otherFile.prefix(4096).allSatisfy { $0 == 0 }, "the other target's LU is untouched")
        session.conn.close()
    }

    /// The NAA designator of the LU (VPD page 83h), as an identification CSCD descriptor
    /// carries it: code set, association/type, length, value.
    private func naaDesignator(_ session: RawSession, lun: UInt8) throws -> [UInt8] {
        session.lun = lun
        try session.clearUnitAttentions()
        let page = try session.execute([0x12, 0x01, 0x83, 0, 255, 0], expectedIn: 255)
        XCTAssertEqual(page.status, 0)
        var at = 4
        while at + 4 <= page.data.count {
            let length = Int(page.data[at + 3])
            if page.data[at + 1] & 0x3F == 0x03 {  // association LU, type NAA
                return Array(page.data[at..<(at + 4 + length)])
            }
            at += 4 + length
        }
        throw E2EError("LUN \(lun) has no NAA designator")
    }

    private func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
}

/// SPC-4 EXTENDED COPY (LID1) parameter lists: identification descriptors (E4h) and one
/// block-to-block segment (02h).
private enum XCopy {
    static func cdb(length: UInt32) -> [UInt8] {
        [0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0,
         UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), 0, 0]
    }

    static func copyStatus(listID: UInt8) -> [UInt8] {
        [0x84, 0x00, listID, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x00, 0, 0]
    }

    static func list(id: UInt8, targets: [[UInt8]],
                     segment: (source: UInt16, destination: UInt16, blocks: UInt16, from: UInt64, to: UInt64)) -> [UInt8] {
        var out: [UInt8] = [id, 0x00, 0, UInt8(32 * targets.count), 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 0]
        for designator in targets {
            var d = [UInt8](repeating: 0, count: 32)
            d[0] = 0xE4
            for (i, b) in designator.prefix(24).enumerated() { d[4 + i] = b }
            d[30] = 0x02  // block length 512
            out += d
        }
        out += [0x02, 0x00, 0x00, 0x18, UInt8(segment.source >> 8), UInt8(segment.source & 0xff),
                UInt8(segment.destination >> 8), UInt8(segment.destination & 0xff), 0, 0,
                UInt8(segment.blocks >> 8), UInt8(segment.blocks & 0xff)]
        for value in [segment.from, segment.to] {
            for i in 0..<8 { out.append(UInt8(value >> (56 - 8 * UInt64(i)) & 0xff)) }
        }
        return out
    }
}
