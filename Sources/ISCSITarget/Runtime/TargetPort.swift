import ISCSI
import Config
import SCSI

/// Each target has one SCSI target port, relative port 1, in the server's one portal group
/// (`TargetPortalGroup.tag`).
enum TargetPort {
    static let relativePort: UInt16 = 1
}

extension NexusIdentity {
    /// The I_T nexus of a normal session: the initiator port (name in its RFC 3722 lower-case
    /// form, capped like any iSCSI name, plus the ISID) and the target's port. The session
    /// registry and the LUs must agree on it, so both build it here.
    static func session(initiatorName: String, isid: UInt64, targetName: String) -> NexusIdentity {
        let name = ISCSIName.normalize(initiatorName)
            ?? String(decoding: initiatorName.lowercased().utf8.prefix(ISCSIName.maximumLength), as: UTF8.self)
        return NexusIdentity(initiatorName: name, isid: isid, targetName: targetName,
                             portalGroupTag: TargetPortalGroup.tag, relativeTargetPort: TargetPort.relativePort)
    }
}
