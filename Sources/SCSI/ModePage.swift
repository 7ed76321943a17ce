/// One mode page (SPC-4 7.5, SBC-4 6.5) in page_0 format: its code, how to build its
/// current values and changeable mask, and how MODE SELECT stores new values.
struct ModePage: Sendable {
    typealias Values = @Sendable (_ lu: LogicalUnitInfo, _ state: LogicalUnitState) -> [UInt8]
    /// Stores the (already checked) parameter bytes after the page header.
    typealias Apply = @Sendable (_ body: [UInt8], _ lu: LogicalUnitInfo, _ state: inout LogicalUnitState) -> Void
    /// Checks values the changeable mask allows but the device server does not support:
    /// the index (in the parameter bytes) and bit of the first bad field, or nil.
    typealias Validate = @Sendable (_ body: [UInt8]) -> (index: Int, bit: Int)?

    let code: UInt8
    let name: String
    /// Parameter bytes after the 2-byte page header, for the given state.
    let values: Values
    /// Changeable mask of the parameter bytes (ones mark bits MODE SELECT may change).
    let changeable: [UInt8]
    let apply: Apply
    let validate: Validate

    init(code: UInt8, name: String, changeable: [UInt8]? = nil,
         apply: @escaping Apply = { _, _, _ in },
         validate: @escaping Validate = { _ in nil },
         values: @escaping Values) {
        self.code = code
        self.name = name
        self.values = values
        self.changeable = changeable ?? []
        self.apply = apply
        self.validate = validate
    }

    enum Control: UInt8, Sendable {
        case current = 0, changeable = 1, `default` = 2, saved = 3
    }

    /// The changeable mask padded to `length` bytes.
    func changeableMask(length: Int) -> [UInt8] {
        Array(changeable.prefix(length)) + [UInt8](repeating: 0, count: max(0, length - changeable.count))
    }

    /// The whole page, header included: PS=0 (nothing is savable), SPF=0, PAGE CODE, PAGE LENGTH.
    func data(_ control: Control, lu: LogicalUnitInfo, state: LogicalUnitState) -> [UInt8] {
        let body: [UInt8]
        switch control {
        case .current, .saved:
            body = values(lu, state)
        case .default:
            body = values(lu, LogicalUnitState())
        case .changeable:
            body = changeableMask(length: values(lu, state).count)
        }
        return [code & 0x3F, UInt8(body.count)] + body
    }
}
