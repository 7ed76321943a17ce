/// What the transport knows about the I_T nexus a command arrived on.
public struct CommandContext: Sendable, Equatable {
    /// LUN numbers (not encoded) the I_T nexus can see, in the order REPORT LUNS lists them.
    public var lunList: [UInt64]
    /// Expected Data Transfer Length from the iSCSI SCSI Command PDU.
    public var expectedDataTransferLength: UInt32
    /// iSCSI target portal group tag of the connection, for the VPD 83 SCSI name string
    /// of the target port ("<iqn>,t,0x<tag>").
    public var portalGroupTag: UInt16
    /// The I_T nexus (initiator port and target port) of the session. Unit attentions,
    /// reservations and PREVENT ALLOW MEDIUM REMOVAL are kept per nexus, so the transport
    /// must fill this in; the default makes every command look as if it came from one nexus.
    public var nexus: NexusIdentity

    public init(lunList: [UInt64] = [], expectedDataTransferLength: UInt32 = 0, portalGroupTag: UInt16,
                nexus: NexusIdentity = .unspecified) {
        self.lunList = lunList
        self.expectedDataTransferLength = expectedDataTransferLength
        self.portalGroupTag = portalGroupTag
        self.nexus = nexus
    }
}
