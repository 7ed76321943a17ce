import XCTest
@testable import Appliance

/// The pure parts of PID 1's boot: module order, module info, the config partition's label
/// and selection, the data disk a first boot shares.
final class InitBootTests: XCTestCase {
    // MARK: module order

    private let cloudModules = [
        ModuleInfo(name: "virtio", depends: [], path: "drivers/virtio/virtio.ko"),
        ModuleInfo(name: "virtio_ring", depends: [], path: "drivers/virtio/virtio_ring.ko"),
        ModuleInfo(name: "virtio_pci_modern_dev", depends: [], path: "drivers/virtio/virtio_pci_modern_dev.ko"),
        ModuleInfo(name: "virtio_pci_legacy_dev", depends: [], path: "drivers/virtio/virtio_pci_legacy_dev.ko"),
        ModuleInfo(name: "virtio_pci", depends: ["virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_ring", "virtio"],
                   path: "drivers/virtio/virtio_pci.ko"),
        ModuleInfo(name: "virtio_blk", depends: ["virtio", "virtio_ring"], path: "drivers/block/virtio_blk.ko"),
        ModuleInfo(name: "failover", depends: [], path: "net/core/failover.ko"),
        ModuleInfo(name: "net_failover", depends: ["failover"], path: "drivers/net/net_failover.ko"),
        ModuleInfo(name: "virtio_net", depends: ["net_failover", "virtio", "virtio_ring"], path: "drivers/net/virtio_net.ko"),
        ModuleInfo(name: "virtio_balloon", depends: ["virtio", "virtio_ring"], path: "drivers/virtio/virtio_balloon.ko"),
    ]

    func testDependenciesComeFirstAndOnlyWhatIsNeeded() throws {
        let order = try ModuleOrder.resolve(wanted: ["virtio_pci", "virtio_blk", "virtio_net"], available: cloudModules)
        XCTAssertEqual(order.map(\.name), ["virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_ring", "virtio",
                                           "virtio_pci", "virtio_blk", "failover", "net_failover", "virtio_net"])
        for (i, module) in order.enumerated() {
            for dependency in module.depends {
                let at = try XCTUnwrap(order.firstIndex { $0.name == dependency }, "\(dependency) missing")
                XCTAssertLessThan(at, i, "\(dependency) must load before \(module.name)")
            }
        }
        XCTAssertFalse(order.contains { $0.name == "virtio_balloon" })
    }

    func testDashesAndUnderscoresAreTheSameModule() throws {
        let modules = [ModuleInfo(name: "virtio-rng", depends: ["virtio"], path: "virtio-rng.ko"),
                       ModuleInfo(name: "virtio", depends: [], path: "virtio.ko")]
        XCTAssertEqual(try ModuleOrder.resolve(wanted: ["virtio_rng"], available: modules).map(\.path), ["virtio.ko", "virtio-rng.ko"])
    }

    func testMissingDependencyAndCycleAreReported() {
        let broken = [ModuleInfo(name: "a", depends: ["b"], path: "a.ko")]
        XCTAssertThrowsError(try ModuleOrder.resolve(wanted: ["a"], available: broken)) {
            XCTAssertEqual($0 as? ModuleOrder.Failure, .unknownModule("b", neededBy: "a"))
        }
        let cycle = [ModuleInfo(name: "a", depends: ["b"], path: "a.ko"), ModuleInfo(name: "b", depends: ["a"], path: "b.ko")]
        XCTAssertThrowsError(try ModuleOrder.resolve(wanted: ["a"], available: cycle)) {
            XCTAssertEqual($0 as? ModuleOrder.Failure, .cycle(["a", "b", "a"]))
        }
    }

    func testOrderFileParsing() {
        XCTAssertEqual(ModuleLoader.parseOrder("virtio.ko\n\n# comment\n virtio_pci.ko  # trailing\r\n"),
                       ["virtio.ko", "virtio_pci.ko"])
    }

    // MARK: .modinfo from an ELF file

    /// A minimal ELF64 relocatable: null section, .modinfo, .shstrtab.
    private func elf(modinfo: String) -> [UInt8] {
        let info = Array(modinfo.utf8)
        let names = Array("\0.modinfo\0.shstrtab\0".utf8)
        let infoOffset = 64, namesOffset = 64 + info.count, table = namesOffset + names.count
        var bytes = [UInt8](repeating: 0, count: table + 3 * 64)
        bytes.replaceSubrange(0..<6, with: [0x7f, 0x45, 0x4c, 0x46, 2, 1])
        func put(_ value: Int, at offset: Int, width: Int) {
            for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
        put(table, at: 0x28, width: 8)
        put(64, at: 0x3a, width: 2)
        put(3, at: 0x3c, width: 2)
        put(2, at: 0x3e, width: 2)
        bytes.replaceSubrange(infoOffset..<(infoOffset + info.count), with: info)
        bytes.replaceSubrange(namesOffset..<(namesOffset + names.count), with: names)
        for (index, (name, offset, size)) in [(1, infoOffset, info.count), (10, namesOffset, names.count)].enumerated() {
            let base = table + (index + 1) * 64
            put(name, at: base, width: 4)
            put(offset, at: base + 0x18, width: 8)
            put(size, at: base + 0x20, width: 8)
        }
        return bytes
    }

    func testModinfoIsReadFromTheSection() throws {
        let bytes = elf(modinfo: "license=GPL\0depends=net_failover,virtio,virtio_ring\0retpoline=Y\0intree=Y\0name=virtio_net\0vermagic=6.1.0\0")
        let info = try ModuleInfoReader.info(of: bytes, path: "kernel/drivers/net/virtio_net.ko")
        XCTAssertEqual(info, ModuleInfo(name: "virtio_net", depends: ["net_failover", "virtio", "virtio_ring"],
                                        path: "kernel/drivers/net/virtio_net.ko"))
    }

    func testEmptyDependsAndNameFromTheFile() throws {
        let info = try ModuleInfoReader.info(of: elf(modinfo: "depends=\0license=GPL\0"), path: "x/virtio-rng.ko")
        XCTAssertEqual(info.name, "virtio_rng")
        XCTAssertEqual(info.depends, [])
    }

    func testNotAModule() {
        XCTAssertThrowsError(try ModuleInfoReader.fields(of: Array("#!/bin/sh\n".utf8))) {
            XCTAssertEqual($0 as? ModuleInfoReader.Failure, .notELF64)
        }
        var truncated = elf(modinfo: "name=x\0")
        truncated.removeLast(100)
        XCTAssertThrowsError(try ModuleInfoReader.fields(of: truncated))
    }

    // MARK: the config partition

    private func deviceStart(label: String?, magic: Bool = true) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 4096)
        if magic { bytes[1024 + 56] = 0x53; bytes[1024 + 57] = 0xEF }
        if let label { bytes.replaceSubrange((1024 + 120)..<(1024 + 120 + label.utf8.count), with: Array(label.utf8)) }
        return bytes
    }

    func testSuperblockLabel() {
        XCTAssertEqual(Ext4Label.label(fromDeviceStart: deviceStart(label: "targe-config")), "targe-config")
        XCTAssertEqual(Ext4Label.label(fromDeviceStart: deviceStart(label: "0123456789abcdef")), "0123456789abcdef")
        XCTAssertEqual(Ext4Label.label(fromDeviceStart: deviceStart(label: nil)), "")
        XCTAssertNil(Ext4Label.label(fromDeviceStart: deviceStart(label: "targe-config", magic: false)), "not ext")
        XCTAssertNil(Ext4Label.label(fromDeviceStart: Array(deviceStart(label: "targe-config").prefix(1100))), "short read")
    }

    func testPartitionSelection() {
        typealias C = ConfigPartition.Candidate
        let candidates = [C(name: "vda", isPartition: false, label: nil), C(name: "vda1", isPartition: true, label: nil),
                          C(name: "vdc", isPartition: false, label: "targe-config"),
                          C(name: "vdb1", isPartition: true, label: "targe-config"),
                          C(name: "vda2", isPartition: true, label: "targe-config"),
                          C(name: "vdd", isPartition: false, label: "other")]
        XCTAssertEqual(ConfigPartition.select(candidates, label: "targe-config"),
                       .init(device: "vda2", ignored: ["vdb1", "vdc"]))
        XCTAssertEqual(ConfigPartition.select([C(name: "vdb", isPartition: false, label: "targe-config")], label: "targe-config"),
                       .init(device: "vdb", ignored: []), "a whole disk formatted as the config disk counts")
        XCTAssertNil(ConfigPartition.select(Array(candidates.prefix(2)), label: "targe-config"))
    }

    func testDataDiskIsTheFirstUnpartitionedDisk() {
        typealias D = DataDisk.Disk
        XCTAssertEqual(DataDisk.first(among: [D(name: "vda", hasPartitions: true), D(name: "vdc", hasPartitions: false),
                                              D(name: "vdb", hasPartitions: false), D(name: "loop0", hasPartitions: false)]), "vdb")
        XCTAssertNil(DataDisk.first(among: [D(name: "vda", hasPartitions: true), D(name: "ram0", hasPartitions: false)]))
    }
}
