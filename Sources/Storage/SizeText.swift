/// 1073741824 -> "1 GiB", 1536 -> "1.5 KiB" (exact values stay exact): sizes as `targe status`
/// prints them, in a device's kind ("raid0 stripe 64 KiB") and beside it.
public func sizeText(_ bytes: UInt64) -> String {
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
