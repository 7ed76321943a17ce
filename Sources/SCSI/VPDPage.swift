/// One vital product data page (SPC-4 7.8, SBC-4 6.6): its code and how to build its body.
struct VPDPage: Sendable {
    typealias Body = @Sendable (_ lu: LogicalUnitInfo, _ context: CommandContext) -> [UInt8]

    let code: UInt8
    let name: String
    /// Everything after the 4-byte page header.
    let body: Body

    /// The full page: PERIPHERAL QUALIFIER/DEVICE TYPE, PAGE CODE, PAGE LENGTH, body.
    func data(lu: LogicalUnitInfo, context: CommandContext) -> [UInt8] {
        let body = body(lu, context)
        var out: [UInt8] = [StandardInquiry.peripheral, code]
        out.reserveCapacity(4 + body.count)
        out.appendBE16(UInt16(body.count))
        out += body
        return out
    }
}
