// INQUIRY and READ CAPACITY(16) through libiscsi's command-line tools.
import Foundation
import XCTest

/// `Key:value` lines of iscsi-inq / iscsi-readcapacity16 output (first occurrence wins).
func colonFields(_ text: String) -> [String: String] {
    var fields: [String: String] = [:]
    for line in text.split(whereSeparator: \.isNewline) {
        guard let colon = line.firstIndex(of: ":") else { continue }
        let key = line[..<colon].trimmingCharacters(in: .whitespaces)
        if fields[key] == nil {
            fields[key] = String(line[line.index(after: colon)...])
        }
    }
    return fields
}

final class InquiryTests: EndToEndTestCase {
    private func diskConfig() -> ConfigBuilder {
        var config = ConfigBuilder()
        config.fileDevice("disk0", size: "64MiB")
        config.target("disk", luns: ["disk0"])
        return config
    }

    func testStandardInquiryReportsVendorTARGE() throws {
        let inq = try Tools.iscsiInq()
        let targe = try startTarge(diskConfig())
        let result = runTool(inq, [targe.lunURL(target: "disk")], timeout: 60, abortIf: targe.abortIfDead)
        assertSucceeded(result, "iscsi-inq (standard INQUIRY)", targe)
        let fields = colonFields(result.stdout)
        let vendor = fields["Vendor"]?.trimmingCharacters(in: .whitespaces)
        print("[e2e] vendor \(vendor.map { "'\($0)'" } ?? "nil"), product '\(fields["Product"] ?? "nil")', type \(fields["Peripheral Device Type"] ?? "nil")")
        XCTAssertEqual(vendor, "TARGE", "vendor identification:\n\(result)")
        XCTAssertEqual(fields["Peripheral Device Type"], "DIRECT_ACCESS", "device type:\n\(result)")
    }

    func testUnitSerialNumberIsStableAcrossRestart() throws {
        let inq = try Tools.iscsiInq()
        let targe = try startTarge(diskConfig())

        // VPD page 0 must list page 0x80. Note: iscsi-inq's -c takes a decimal integer
        // (popt): "-c 0x80" would silently mean page 0.
        let pages = runTool(inq, ["-e", "1", "-c", "0", targe.lunURL(target: "disk")], timeout: 60, abortIf: targe.abortIfDead)
        assertSucceeded(pages, "iscsi-inq -e 1 -c 0 (supported VPD pages)", targe)
        XCTAssertTrue(pages.stdout.contains("Page:0x80"), "VPD page 0 does not list 0x80:\n\(pages)")

        func serial() -> String? {
            let result = runTool(inq, ["-e", "1", "-c", "128", targe.lunURL(target: "disk")], timeout: 60, abortIf: targe.abortIfDead)
            assertSucceeded(result, "iscsi-inq -e 1 -c 128 (unit serial number)", targe)
            guard let open = result.stdout.range(of: "Unit Serial Number:["),
                  let close = result.stdout[open.upperBound...].range(of: "]") else {
                XCTFail("no `Unit Serial Number:[...]` in:\n\(result)")
                return nil
            }
            return String(result.stdout[open.upperBound..<close.lowerBound])
        }

        let first = serial()
        print("[e2e] serial before restart: \(first.map { "'\($0)'" } ?? "nil") (port \(targe.port))")
        XCTAssertFalse((first ?? "").trimmingCharacters(in: .whitespaces).isEmpty, "empty unit serial number")

        let stop = targe.stop()
        XCTAssertEqual(stop?.clean, true, "targe \(stop?.summary ?? "?") on SIGTERM\n\(targe.diagnostics)")
        try targe.start()
        let second = serial()
        print("[e2e] serial after restart: \(second.map { "'\($0)'" } ?? "nil") (port \(targe.port))")
        XCTAssertEqual(first, second, "unit serial number changed across a restart with the same config")
    }

    func testReadCapacity16Reports64MiB() throws {
        let rc16 = try Tools.iscsiReadCapacity16()
        let targe = try startTarge(diskConfig())
        let result = runTool(rc16, [targe.lunURL(target: "disk")], timeout: 60, abortIf: targe.abortIfDead)
        assertSucceeded(result, "iscsi-readcapacity16", targe)
        let fields = colonFields(result.stdout)
        let lastLBA = fields["RETURNED LOGICAL BLOCK ADDRESS"].flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        let blockLength = fields["LOGICAL BLOCK LENGTH IN BYTES"].flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        print("[e2e] readcapacity16: last LBA \(lastLBA.map(String.init) ?? "nil"), block length \(blockLength.map(String.init) ?? "nil"), total \(fields["Total size"] ?? "nil")")
        guard let lastLBA, let blockLength else {
            XCTFail("could not parse READ CAPACITY(16) output:\n\(result)")
            return
        }
        XCTAssertTrue([512, 4096].contains(blockLength), "block length \(blockLength):\n\(result)")
        XCTAssertEqual((lastLBA + 1) * blockLength, 64 << 20, "capacity of a 64 MiB LUN:\n\(result)")
        XCTAssertEqual(fields["Total size"]?.trimmingCharacters(in: .whitespaces), "\(64 << 20)", "total size:\n\(result)")
    }
}
