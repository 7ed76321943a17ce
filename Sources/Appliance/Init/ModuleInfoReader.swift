/// Reads the `.modinfo` section of a kernel module (an ELF64 little-endian relocatable
/// object): NUL-separated `key=value` strings such as `name=virtio_net` and
/// `depends=virtio,virtio_ring,net_failover`. Pure: it works on the file's bytes, so it runs
/// the same on the build host and in tests.
public enum ModuleInfoReader {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notELF64
        case truncated(String)
        case noModinfo

        public var description: String {
            switch self {
            case .notELF64: return "not a little-endian ELF64 file"
            case let .truncated(what): return "truncated ELF file (\(what) lies outside it)"
            case .noModinfo: return "no .modinfo section (not a kernel module)"
            }
        }
    }

    /// The key/value pairs of `.modinfo`, in file order (keys such as `alias` repeat).
    public static func fields(of bytes: [UInt8]) throws(Failure) -> [(key: String, value: String)] {
        guard bytes.count >= 64, bytes[0] == 0x7f, bytes[1] == UInt8(ascii: "E"), bytes[2] == UInt8(ascii: "L"),
              bytes[3] == UInt8(ascii: "F"), bytes[4] == 2, bytes[5] == 1 else { throw .notELF64 }
        let sectionTable = Int(le(bytes, 0x28, 8))
        let entrySize = Int(le(bytes, 0x3a, 2))
        let count = Int(le(bytes, 0x3c, 2))
        let namesIndex = Int(le(bytes, 0x3e, 2))
        guard entrySize >= 64, namesIndex < count,
              sectionTable >= 0, sectionTable + count * entrySize <= bytes.count else { throw .truncated("the section table") }

        func section(_ i: Int) -> (name: Int, offset: Int, size: Int) {
            let base = sectionTable + i * entrySize
            return (Int(le(bytes, base, 4)), Int(le(bytes, base + 0x18, 8)), Int(le(bytes, base + 0x20, 8)))
        }
        let names = section(namesIndex)
        guard names.offset + names.size <= bytes.count else { throw .truncated("the section names") }
        for i in 0..<count {
            let s = section(i)
            guard s.name < names.size, cString(bytes, names.offset + s.name, limit: names.offset + names.size) == ".modinfo" else {
                continue
            }
            guard s.offset >= 0, s.size >= 0, s.offset + s.size <= bytes.count else { throw .truncated(".modinfo") }
            return bytes[s.offset..<(s.offset + s.size)].split(separator: 0).compactMap { entry in
                guard let eq = entry.firstIndex(of: UInt8(ascii: "=")) else { return nil }
                return (String(decoding: entry[..<eq], as: UTF8.self), String(decoding: entry[(eq + 1)...], as: UTF8.self))
            }
        }
        throw .noModinfo
    }

    /// `name=` and `depends=` as a ModuleInfo; the name falls back to the file name.
    public static func info(of bytes: [UInt8], path: String) throws(Failure) -> ModuleInfo {
        let all = try fields(of: bytes)
        let fileName = path.split(separator: "/").last.map { String($0) } ?? path
        let stem = fileName.hasSuffix(".ko") ? String(fileName.dropLast(3)) : fileName
        let name = all.first { $0.key == "name" }?.value ?? stem
        let depends = all.first { $0.key == "depends" }?.value.split(separator: ",").map(String.init) ?? []
        return ModuleInfo(name: name, depends: depends, path: path)
    }

    private static func le(_ bytes: [UInt8], _ offset: Int, _ width: Int) -> UInt64 {
        guard offset >= 0, offset + width <= bytes.count else { return 0 }
        var value: UInt64 = 0
        for i in (0..<width).reversed() { value = value << 8 | UInt64(bytes[offset + i]) }
        return value
    }

    private static func cString(_ bytes: [UInt8], _ start: Int, limit: Int) -> String {
        var end = start
        while end < limit && bytes[end] != 0 { end += 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
