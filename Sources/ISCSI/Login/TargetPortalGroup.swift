/// Every portal of a Targe server is in one target portal group: its tag goes to the
/// initiator at login (TargetPortalGroupTag, RFC 7143 section 13.9), into the SCSI name of the
/// target port (VPD page 83h) and into every I_T nexus identity.
public enum TargetPortalGroup {
    public static let tag: UInt16 = 1
}
