/// Parses a byte count: a decimal number with an optional unit, case-insensitive.
/// B, K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB; the KB-style forms are powers of 1024 too,
/// because that is what the seeds' admin module writes and means. No fractions, no sign,
/// nil on overflow.
public func parseSize(_ s: String) -> UInt64? {
    let digits = s.prefix { $0 >= "0" && $0 <= "9" }
    guard !digits.isEmpty, let number = UInt64(digits) else { return nil }
    let multiplier: UInt64
    switch s.dropFirst(digits.count).lowercased() {
    case "", "b": multiplier = 1
    case "k", "kb", "kib": multiplier = 1 << 10
    case "m", "mb", "mib": multiplier = 1 << 20
    case "g", "gb", "gib": multiplier = 1 << 30
    case "t", "tb", "tib": multiplier = 1 << 40
    default: return nil
    }
    let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
    return overflow ? nil : bytes
}

/// The shortest exact spelling of a byte count ("10GiB", "1536KiB", "1000"), so rendered
/// configs stay readable and parse back to the same number.
public func formatSize(_ bytes: UInt64) -> String {
    guard bytes > 0 else { return "0" }
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        let unitBytes: UInt64 = 1 << UInt64(shift)
        if bytes % unitBytes == 0 {
            return "\(bytes / unitBytes)\(unit)"
        }
    }
    return "\(bytes)"
}
