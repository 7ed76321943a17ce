/// 65536 -> "64 KiB", 1536 -> "1.5 KiB": a size as the status page prints it. The same rule
/// as the status page's `formatSize` in Target, so a device's kind ("raid0 stripe 64 KiB")
/// reads like the sizes printed beside it; Storage cannot reach Target's copy.
func sizeText(_ bytes: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    if value == value.rounded() { return "\(Int(value)) \(units[unit])" }
    return "\((value * 10).rounded() / 10) \(units[unit])"
}
