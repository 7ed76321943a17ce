import Config

/// Devices, combinations and targets are found by name; this lets the forms edit "the one
/// called NAME" in any of the three lists the same way.
protocol NamedRecord {
    var name: String { get }
}

extension DeviceConfig: NamedRecord {}
extension CombinationConfig: NamedRecord {}
extension TargetConfig: NamedRecord {}

extension Array where Element: NamedRecord {
    /// Applies `body` to the record called `name`, if there is one.
    mutating func update(named name: String, _ body: (inout Element) -> Void) {
        guard let index = firstIndex(where: { $0.name == name }) else { return }
        body(&self[index])
    }
}
