/// One I_T nexus (SAM-5 4.7): an iSCSI initiator port and a target port. For iSCSI the
/// initiator port is the initiator name plus the ISID of the session (RFC 7143 4.4.1), so two
/// sessions of one initiator are two nexuses, and a new login with another ISID is a new
/// nexus. Unit attentions, PREVENT ALLOW, SPC-2 reservations and persistent reservation
/// registrations are all kept per nexus.
///
/// The transport must build it from the values the login negotiated, with the iSCSI names in
/// their RFC 3722 normalised (lower-case) form, so that the same initiator port always maps
/// to the same value.
public struct NexusIdentity: Sendable, Hashable {
    /// iSCSI initiator name (InitiatorName key).
    public var initiatorName: String
    /// Initiator session identifier, 48 bits (the upper 16 bits are ignored).
    public var isid: UInt64
    /// iSCSI target port name, "<target iqn>,t,0x<TPGT>" (RFC 7143 4.4.1).
    public var targetPortName: String
    /// SCSI relative target port identifier of the port the session uses (1 and up).
    public var relativeTargetPort: UInt16

    public init(initiatorName: String, isid: UInt64, targetPortName: String, relativeTargetPort: UInt16) {
        self.initiatorName = initiatorName
        self.isid = isid & 0xFFFF_FFFF_FFFF
        self.targetPortName = targetPortName
        self.relativeTargetPort = relativeTargetPort
    }

    /// Builds the target port name from the target name and portal group tag.
    public init(initiatorName: String, isid: UInt64, targetName: String, portalGroupTag: UInt16,
                relativeTargetPort: UInt16) {
        self.init(initiatorName: initiatorName, isid: isid,
                  targetPortName: NexusIdentity.targetPortName(targetName: targetName, portalGroupTag: portalGroupTag),
                  relativeTargetPort: relativeTargetPort)
    }

    /// The nexus used when the transport does not say which one a command came from: every
    /// such command then shares one nexus.
    public static let unspecified = NexusIdentity(initiatorName: "", isid: 0, targetPortName: "",
                                                  relativeTargetPort: 1)

    /// SPC-4 / RFC 7143 iSCSI initiator port name: "<initiator name>,i,0x<12 hex digit ISID>".
    public var initiatorPortName: String {
        initiatorName + ",i,0x" + NexusIdentity.hex(isid & 0xFFFF_FFFF_FFFF, digits: 12)
    }

    /// SPC-4 7.6.4.6 iSCSI TransportID, FORMAT CODE 01b (initiator port name: name, ",i,0x"
    /// separator, ISID), as PERSISTENT RESERVE IN READ FULL STATUS reports it: protocol
    /// identifier 5, a two-byte ADDITIONAL LENGTH, then the null-terminated name padded with
    /// nulls to a multiple of four bytes (at least 20 bytes in all).
    public var transportID: [UInt8] {
        var name = Array(initiatorPortName.utf8.prefix(255 - 11))
        name.append(0)
        while name.count % 4 != 0 || name.count < 20 { name.append(0) }
        var out: [UInt8] = [0x40 | DeviceIdentification.iSCSIProtocol, 0]
        out.appendBE16(UInt16(name.count))
        out += name
        return out
    }

    /// "<target iqn>,t,0x<tpgt as 4 hex digits>", as VPD 83h's target port designator.
    public static func targetPortName(targetName: String, portalGroupTag: UInt16) -> String {
        targetName + ",t,0x" + hex(UInt64(portalGroupTag), digits: 4)
    }

    /// The initiator port (name and ISID) without the target port.
    var initiatorPort: InitiatorPort { InitiatorPort(name: initiatorName, isid: isid) }

    static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

/// An iSCSI initiator port: what persistent reservations registered with ALL_TG_PT=1 match.
struct InitiatorPort: Sendable, Hashable {
    var name: String
    var isid: UInt64
}
