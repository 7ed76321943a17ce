// SendTargets discovery through libiscsi's iscsi-ls.
import Foundation
import XCTest

/// `iscsi-ls -s` output: `Target:IQN Portal:HOST:PORT,TPGT` then `Lun:N    Type:TYPE (Size:..)`.
struct DiscoveryListing {
    struct Entry {
        var target: String
        var portal: String        // HOST:PORT (TPGT stripped)
        var tpgt: String?
        var luns: [(lun: Int, type: String)] = []
    }
    var entries: [Entry] = []

    init(_ text: String) {
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("Target:"), let p = line.range(of: " Portal:") {
                let target = String(line[line.index(line.startIndex, offsetBy: 7)..<p.lowerBound])
                var portal = String(line[p.upperBound...]).trimmingCharacters(in: .whitespaces)
                var tpgt: String?
                if let comma = portal.lastIndex(of: ",") {
                    tpgt = String(portal[portal.index(after: comma)...])
                    portal = String(portal[..<comma])
                }
                entries.append(Entry(target: target, portal: portal, tpgt: tpgt))
            } else if line.hasPrefix("Lun:"), !entries.isEmpty {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard let lun = Int(fields[0].dropFirst(4)) else { continue }
                let type = fields.first(where: { $0.hasPrefix("Type:") }).map { String($0.dropFirst(5)) } ?? "?"
                entries[entries.count - 1].luns.append((lun, type))
            }
        }
    }

    var summary: String {
        entries.map { e in
            "\(e.target) @ \(e.portal) tpgt \(e.tpgt ?? "-") luns \(e.luns.map { "\($0.lun):\($0.type)" })"
        }.joined(separator: "; ")
    }
}

final class DiscoveryTests: EndToEndTestCase {
    func testSendTargetsListsTargetWithPortalAndLun() throws {
        let ls = try Tools.iscsiLs()
        var config = ConfigBuilder()
        config.fileDevice("disk0", size: "64MiB")
        config.target("disk", luns: ["disk0"])
        let targe = try startTarge(config)

        let result = runTool(ls, ["-s", "iscsi://\(targe.portal)"], timeout: 60, abortIf: targe.abortIfDead)
        assertSucceeded(result, "iscsi-ls -s", targe)
        let listing = DiscoveryListing(result.stdout)
        print("[e2e] iscsi-ls parsed: \(listing.summary)")

        let iqn = ConfigBuilder.iqn("disk")
        let entries = listing.entries.filter { $0.target == iqn }
        XCTAssertEqual(entries.count, 1, "expected \(iqn) once in:\n\(result)")
        guard let entry = entries.first else { return }
        XCTAssertEqual(entry.portal, targe.portal, "portal advertised for \(iqn):\n\(result)")
        XCTAssertEqual(entry.luns.map(\.lun), [0], "LUNs of \(iqn):\n\(result)")
        XCTAssertEqual(entry.luns.first?.type, "DIRECT_ACCESS", "LUN 0 device type:\n\(result)")
        XCTAssertEqual(listing.entries.count, 1, "only one target is configured:\n\(result)")
    }

    func testSendTargetsListsBothTargets() throws {
        let ls = try Tools.iscsiLs()
        var config = ConfigBuilder()
        config.fileDevice("disk0", size: "64MiB")
        config.ramDevice("ram0", size: "16MiB")
        config.target("disk", luns: ["disk0"])
        config.target("scratch", luns: ["ram0"])
        let targe = try startTarge(config)

        let result = runTool(ls, ["-s", "iscsi://\(targe.portal)"], timeout: 60, abortIf: targe.abortIfDead)
        assertSucceeded(result, "iscsi-ls -s", targe)
        let listing = DiscoveryListing(result.stdout)
        print("[e2e] iscsi-ls parsed: \(listing.summary)")

        XCTAssertEqual(Set(listing.entries.map(\.target)),
                       [ConfigBuilder.iqn("disk"), ConfigBuilder.iqn("scratch")],
                       "targets listed:\n\(result)")
        for entry in listing.entries {
            XCTAssertEqual(entry.portal, targe.portal, "portal of \(entry.target):\n\(result)")
            XCTAssertEqual(entry.luns.map(\.lun), [0], "LUNs of \(entry.target):\n\(result)")
        }
    }
}
