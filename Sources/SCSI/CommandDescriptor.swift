/// One row of the opcode table: how to decode a command and how REPORT SUPPORTED
/// OPERATION CODES describes it. A class so that a table lookup on the hot path copies
/// one reference rather than the row's fields.
final class CommandDescriptor: Sendable {
    typealias Handler = @Sendable (
        _ cdb: CDB, _ lu: LogicalUnitInfo, _ state: inout LogicalUnitState, _ context: CommandContext
    ) -> SCSIAction
    /// Second phase of a command whose handler returned `.parameterData`.
    typealias Completion = @Sendable (
        _ cdb: CDB, _ parameters: [UInt8], _ lu: LogicalUnitInfo, _ state: inout LogicalUnitState,
        _ context: CommandContext
    ) -> SCSIAction

    /// Where a stopped unit (START STOP UNIT with START=0) stands with this command.
    enum Readiness: Sendable {
        /// Processed normally (INQUIRY, REPORT LUNS, MODE SENSE, START STOP UNIT, ...).
        case always
        /// Fails with NOT READY / INITIALIZING COMMAND REQUIRED (medium access, TEST UNIT READY).
        case needsStartedUnit
    }

    let opcode: UInt8
    /// The service action this row is for, when the opcode has service actions (byte 1 bits 4-0).
    let serviceAction: UInt8?
    let name: String
    /// SPC-4 6.35.3 CDB USAGE DATA: byte 0 is the opcode, then a mask of the bits the device
    /// server looks at (with the service action value in its field). Its length is the CDB length.
    let usage: [UInt8]
    let readiness: Readiness
    let reservation: ReservationClass
    let handler: Handler
    let completion: Completion?
    /// Whether this LU offers the command (UNMAP only on a thin LU, ...). Dispatch answers an
    /// unavailable row as an unsupported one; REPORT SUPPORTED OPERATION CODES leaves it out.
    let isAvailable: @Sendable (LogicalUnitInfo) -> Bool

    var cdbLength: Int { usage.count }

    init(_ opcode: UInt8, serviceAction: UInt8? = nil, _ name: String, usage: [UInt8],
         readiness: Readiness, reservation: ReservationClass, completion: Completion? = nil,
         available: @escaping @Sendable (LogicalUnitInfo) -> Bool = { _ in true },
         handler: @escaping Handler) {
        precondition(usage.first == opcode, "CDB usage data must start with the opcode")
        self.opcode = opcode
        self.serviceAction = serviceAction
        self.name = name
        self.usage = usage
        self.readiness = readiness
        self.reservation = reservation
        self.completion = completion
        self.isAvailable = available
        self.handler = handler
    }
}
