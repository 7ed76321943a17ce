/// One mode page (SPC-4 7.5, SBC-4 6.5) in page_0 format: its code and how to build its
/// current values and changeable mask.
struct ModePage: Sendable {
    typealias Values = @Sendable (_ lu: LogicalUnitInfo, _ state: LogicalUnitState) -> [UInt8]

    let code: UInt8
    let name: String
    /// Parameter bytes after the 2-byte page header, for the given state.
    let values: Values
    /// Changeable mask of the parameter bytes (ones mark bits MODE SELECT may change).
    let changeable: [UInt8]

    init(code: UInt8, name: String, changeable: [UInt8]? = nil, values: @escaping Values) {
        self.code = code
        self.name = name
        self.values = values
        self.changeable = changeable ?? []
    }

    enum Control: UInt8, Sendable {
        case current = 0, changeable = 1, `default` = 2, saved = 3
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
            let length = values(lu, state).count
            body = changeable + [UInt8](repeating: 0, count: max(0, length - changeable.count))
        }
        return [code & 0x3F, UInt8(body.count)] + body
    }
}
