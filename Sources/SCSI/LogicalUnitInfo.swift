/// Static description of one direct-access logical unit: everything INQUIRY, READ CAPACITY,
/// MODE SENSE and the VPD pages report. Built from configuration by the target.
public struct LogicalUnitInfo: Sendable, Equatable {
    /// LUN number (not encoded).
    public var lun: UInt64
    /// Logical block length in bytes: 512 or 4096.
    public var blockSize: Int
    /// Number of logical blocks; the last LBA is `blockCount - 1`.
    public var blockCount: UInt64
    /// Writes fail with DATA PROTECT / WRITE PROTECTED; MODE SENSE reports WP.
    public var readOnly: Bool
    /// Thin provisioned (LBPME): UNMAP, WRITE SAME with UNMAP and GET LBA STATUS work, and
    /// deallocated blocks read as zeros (LBPRZ). Set for backing stores that can punch holes.
    public var thinProvisioned = false
    /// WCE in the caching mode page: writes may sit in a volatile cache until
    /// SYNCHRONIZE CACHE or FUA (true for the buffered storage engine).
    public var writeCache: Bool
    /// T10 vendor identification, 8 ASCII characters (space-padded or truncated).
    public var vendor: String
    /// Product identification, 16 ASCII characters (space-padded or truncated).
    public var product: String
    /// Product revision level, 4 ASCII characters (space-padded or truncated).
    public var revision: String
    /// Unit serial number (VPD 0x80); stable across restarts (see `stableIdentity`).
    public var serial: String
    /// 16-byte NAA IEEE Registered Extended designator (NAA 6) for VPD 0x83; stable across
    /// restarts (see `stableIdentity`).
    public var naaIdentifier: [UInt8]
    /// Target IQN, for the VPD 0x83 SCSI name string designators.
    public var targetName: String
    /// ALUA target port group of the port (VPD 0x83 designator type 5).
    public var targetPortGroup: UInt16
    /// Relative target port identifier (VPD 0x83 designator type 4); 0 is reserved.
    public var relativeTargetPort: UInt16
    /// Every target port group of an LU that several gateways serve, this port's
    /// (`targetPortGroup`) among them; empty for a plain LU (one group, always serving).
    public var portGroups: [TargetPortGroup] = []
    /// VPD B0 MAXIMUM TRANSFER LENGTH in blocks; longer READ/WRITE/VERIFY commands fail with
    /// INVALID FIELD IN CDB. 0 means no limit.
    public var maxTransferBlocks: UInt32
    /// VPD B0 OPTIMAL TRANSFER LENGTH in blocks (0: not reported).
    public var optimalTransferBlocks: UInt32
    /// READ CAPACITY 16 LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (e.g. 3 for 512e on 4K).
    public var physicalBlocksPerLogicalExponent: UInt8
    /// VPD B1 MEDIUM ROTATION RATE: 1 = non-rotating medium (SSD), 0 = not reported.
    public var rotationRate: UInt16
    /// VPD B1 NOMINAL FORM FACTOR (0 = not reported).
    public var nominalFormFactor: UInt8

    public init(lun: UInt64 = 0,
                blockSize: Int = 512,
                blockCount: UInt64,
                readOnly: Bool = false,
                writeCache: Bool = true,
                vendor: String = "TARGE",
                product: String = "Targe disk",
                revision: String = "0001",
                serial: String,
                naaIdentifier: [UInt8],
                targetName: String,
                targetPortGroup: UInt16 = 1,
                relativeTargetPort: UInt16 = 1,
                maxTransferBlocks: UInt32? = nil,
                optimalTransferBlocks: UInt32? = nil,
                physicalBlocksPerLogicalExponent: UInt8 = 0,
                rotationRate: UInt16 = 1,
                nominalFormFactor: UInt8 = 0) {
        self.lun = lun
        self.blockSize = blockSize
        self.blockCount = blockCount
        self.readOnly = readOnly
        self.writeCache = writeCache
        self.vendor = vendor
        self.product = product
        self.revision = revision
        self.serial = serial
        self.naaIdentifier = naaIdentifier
        self.targetName = targetName
        self.targetPortGroup = targetPortGroup
        self.relativeTargetPort = relativeTargetPort
        let size = max(blockSize, 1)
        self.maxTransferBlocks = maxTransferBlocks ?? UInt32(LogicalUnitInfo.defaultMaxTransferBytes / size)
        self.optimalTransferBlocks = optimalTransferBlocks ?? UInt32(LogicalUnitInfo.defaultOptimalTransferBytes / size)
        self.physicalBlocksPerLogicalExponent = physicalBlocksPerLogicalExponent
        self.rotationRate = rotationRate
        self.nominalFormFactor = nominalFormFactor
    }

    /// Convenience: identity fields derived with `stableIdentity(targetIQN:deviceName:)`.
    public init(lun: UInt64 = 0,
                blockSize: Int = 512,
                blockCount: UInt64,
                readOnly: Bool = false,
                writeCache: Bool = true,
                targetName: String,
                deviceName: String) {
        let identity = LogicalUnitInfo.stableIdentity(targetIQN: targetName, deviceName: deviceName)
        self.init(lun: lun, blockSize: blockSize, blockCount: blockCount, readOnly: readOnly,
                  writeCache: writeCache, serial: identity.serial, naaIdentifier: identity.naa,
                  targetName: targetName)
    }

    /// Default VPD B0 MAXIMUM TRANSFER LENGTH, in bytes.
    public static let defaultMaxTransferBytes = 8 * 1024 * 1024
    /// Default VPD B0 OPTIMAL TRANSFER LENGTH, in bytes.
    public static let defaultOptimalTransferBytes = 1024 * 1024

    /// The last addressable LBA (READ CAPACITY's RETURNED LOGICAL BLOCK ADDRESS).
    public var lastLBA: UInt64 { blockCount == 0 ? 0 : blockCount - 1 }
}
