/// Every portal of a Targe server is in one target portal group: its tag goes to the
/// initiator at login (TargetPortalGroupTag, RFC 7143 section 13.9), into the SCSI name of the
/// target port (VPD page 83h) and into every I_T nexus identity. A target with gateways is
/// the exception: gateway N of its list is portal group N (see `ExportedTarget.port`).
public enum TargetPortalGroup {
    public static let tag: UInt16 = 1
}
