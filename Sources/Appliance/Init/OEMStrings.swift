#if canImport(Glibc)
import Glibc
#endif
import Config

/// SMBIOS OEM strings (structure type 11): how a hypervisor tells the appliance something its
/// guest cannot find out, e.g. qemu's `-smbios type=11,value=org.targe.advertise=127.0.0.1:3260`
/// for the host address that a user-network port forward makes the target reachable on.
/// The kernel shows them in /sys/firmware/dmi/entries/11-N/raw (DMI_SYSFS, built in).
enum OEMStrings {
    static let directory = "/sys/firmware/dmi/entries"
    /// The key of the address SendTargets should report (image/run.sh passes it).
    static let advertiseKey = "org.targe.advertise"

    /// The strings of one raw type-11 structure: a 4-byte header plus a count byte (the
    /// formatted area is `length` bytes), then NUL-terminated strings ending in an empty one.
    static func parse(raw: [UInt8]) -> [String] {
        guard raw.count >= 5, raw[0] == 11 else { return [] }
        let formatted = Int(raw[1])
        guard formatted >= 5, formatted <= raw.count else { return [] }
        var strings: [String] = []
        var start = formatted
        var i = formatted
        while i < raw.count {
            if raw[i] == 0 {
                if i == start { break }  // the empty string ends the set
                strings.append(String(decoding: raw[start..<i], as: UTF8.self))
                start = i + 1
            }
            i += 1
        }
        return strings
    }

    /// `KEY=VALUE` among `strings`: the first value for `key`.
    static func value(of key: String, in strings: [String]) -> String? {
        strings.lazy.compactMap { s -> String? in
            guard s.hasPrefix(key + "=") else { return nil }
            return String(s.dropFirst(key.count + 1))
        }.first
    }

    /// Every OEM string the firmware passed (none outside a VM that sets them).
    static func read(from directory: String = directory) -> [String] {
        var strings: [String] = []
        for index in 0..<16 {
            guard let raw = try? SystemFiles.read("\(directory)/11-\(index)/raw", limit: 65536) else { break }
            strings += parse(raw: raw)
        }
        return strings
    }

    /// The advertised portal the hypervisor named, if it named a valid one.
    static func advertisedPortal(in strings: [String]) -> Portal? {
        value(of: advertiseKey, in: strings).flatMap(Portal.parse).flatMap { $0.isWildcard || $0.port == 0 ? nil : $0 }
    }
}
