import ISCSI
import Config
import SCSI

/// Where a target is reached on this server: its SCSI target port (relative port id) in its
/// target portal group (tag). A plain target has relative port 1 in the server's one portal
/// group (`TargetPortalGroup.tag`); a target with gateways is reached on gateway N of its list
/// through portal group N, target port N and ALUA target port group N, so that each
/// gateway's port is told apart by every initiator and every other gateway.
public struct TargetPort: Sendable, Equatable {
    public var portalGroupTag: UInt16
    public var relativePort: UInt16

    public static let sole = TargetPort(portalGroupTag: TargetPortalGroup.tag, relativePort: 1)

    /// Gateway `index` (0-based) of a target's list.
    public static func gateway(_ index: Int) -> TargetPort {
        TargetPort(portalGroupTag: UInt16(index + 1), relativePort: UInt16(index + 1))
    }
}

/// A gateway of a target as initiators see it: the portal SendTargets lists and its group.
public struct GatewayPortal: Sendable, Equatable {
    public var name: String
    /// "ADDR:PORT" ("[v6]:PORT"), as TargetAddress carries it.
    public var address: String
    public var port: TargetPort
}

extension NexusIdentity {
    /// The I_T nexus of a normal session: the initiator port (name in its RFC 3722 lower-case
    /// form, capped like any iSCSI name, plus the ISID) and the target's port. The session
    /// registry and the LUs must agree on it, so both build it here.
    static func session(initiatorName: String, isid: UInt64, target: ExportedTarget) -> NexusIdentity {
        let name = ISCSIName.normalize(initiatorName)
            ?? String(decoding: initiatorName.lowercased().utf8.prefix(ISCSIName.maximumLength), as: UTF8.self)
        return NexusIdentity(initiatorName: name, isid: isid, targetName: target.name,
                             portalGroupTag: target.port.portalGroupTag, relativeTargetPort: target.port.relativePort)
    }
}
