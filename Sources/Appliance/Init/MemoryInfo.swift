/// MemTotal and MemAvailable from /proc/meminfo, for the console's status line: the root
/// filesystem lives in RAM, so how much is left matters on a small appliance.
public struct MemoryInfo: Sendable, Equatable {
    public var totalKiB: Int
    public var availableKiB: Int

    public static func parse(_ text: String) -> MemoryInfo? {
        var total: Int?, available: Int?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let value = Int(fields[1]) else { continue }
            if fields[0] == "MemTotal:" { total = value }
            if fields[0] == "MemAvailable:" { available = value }
        }
        guard let total, let available else { return nil }
        return MemoryInfo(totalKiB: total, availableKiB: available)
    }

    public static func current() -> MemoryInfo? {
        (try? SystemFiles.read("/proc/meminfo", limit: 65536)).flatMap { parse(String(decoding: $0, as: UTF8.self)) }
    }

    /// "memory 150 of 240 MiB available"
    public var summary: String { "memory \(availableKiB / 1024) of \(totalKiB / 1024) MiB available" }
}
