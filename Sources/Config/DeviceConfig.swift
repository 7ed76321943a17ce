/// Where a device's blocks live.
public enum DeviceSource: Sendable, Equatable {
    /// An absolute path: a block device (disk, partition, LV, md) or a regular file.
    case path(String)
    /// A RAM disk of this many bytes, gone at exit (tests and scratch).
    case ram(bytes: UInt64)
    /// A Ceph RBD image (`rbd POOL/[NAMESPACE/]IMAGE`, `ceph-conf`, `ceph-id`).
    case rbd(RBDSource)
}

/// `rbd POOL/IMAGE` or `rbd POOL/NAMESPACE/IMAGE`, and how to reach the cluster.
public struct RBDSource: Sendable, Hashable {
    public static let defaultCephConf = "/etc/ceph/ceph.conf"
    public static let defaultCephID = "admin"

    public var pool: String
    /// "" for the pool's default namespace.
    public var namespace: String
    public var image: String
    /// `ceph-conf FILE`: monitors and keyring.
    public var cephConf: String
    /// `ceph-id ID`: the cephx client (`admin` is client.admin).
    public var cephID: String

    public init(pool: String, namespace: String = "", image: String, cephConf: String = RBDSource.defaultCephConf,
                cephID: String = RBDSource.defaultCephID) {
        self.pool = pool
        self.namespace = namespace
        self.image = image
        self.cephConf = cephConf
        self.cephID = cephID
    }

    /// `pool/image` or `pool/namespace/image`.
    public var path: String { namespace.isEmpty ? "\(pool)/\(image)" : "\(pool)/\(namespace)/\(image)" }

    /// Parses `POOL/IMAGE` or `POOL/NAMESPACE/IMAGE` (no empty part, no snapshot `@`).
    public static func parsePath(_ text: String) -> (pool: String, namespace: String, image: String)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy({ !$0.isEmpty && !$0.contains("@") }) else { return nil }
        switch parts.count {
        case 2: return (parts[0], "", parts[1])
        case 3: return (parts[0], parts[1], parts[2])
        default: return nil
        }
    }
}

/// I/O engine (SPEC section 1).
public enum Engine: String, Sendable {
    /// libaio with O_DIRECT, write-through; the default for block devices.
    case aio
    /// Page cache, write-back; SYNCHRONIZE CACHE and FUA flush.
    case buffered
}

/// `[device NAME]`: a device to share, whole or a slice.
public struct DeviceConfig: Sendable, Equatable {
    public static let defaultBlockSize = 512

    public var name: String
    public var source: DeviceSource
    /// Start of the slice in bytes (`path` only), a multiple of the block size.
    public var offset: UInt64
    /// Length of the slice in bytes (`path` only); nil = from `offset` to the end.
    public var size: UInt64?
    /// nil = the default for what `path` turns out to be (decided when opening it).
    public var engine: Engine?
    /// `create yes` (Targe's addition to the seeds): if `path` does not exist, create it as a
    /// sparse regular file of `offset + size` bytes, so a file-backed LUN needs no setup
    /// step. Requires `size`. An existing file is used as it is, never resized.
    public var create: Bool
    /// `block-size 512|4096`: the logical block size exported to initiators; nil = 512.
    public var blockSize: Int?
    /// Line of the `[device NAME]` header.
    public var line: Int
    /// Key -> line ("path", "ram", "offset", "size", "engine", "create", "block-size").
    public var lines: [String: Int]

    public init(name: String, source: DeviceSource, offset: UInt64 = 0, size: UInt64? = nil,
                engine: Engine? = nil, create: Bool = false, blockSize: Int? = nil,
                line: Int = 0, lines: [String: Int] = [:]) {
        self.name = name
        self.source = source
        self.offset = offset
        self.size = size
        self.engine = engine
        self.create = create
        self.blockSize = blockSize
        self.line = line
        self.lines = lines
    }

    public var path: String? {
        if case .path(let path) = source { path } else { nil }
    }

    public var effectiveBlockSize: Int { blockSize ?? Self.defaultBlockSize }

    /// Ignores line numbers (see `ApplianceSettings.==`).
    public static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.source == b.source && a.offset == b.offset && a.size == b.size
            && a.engine == b.engine && a.create == b.create && a.blockSize == b.blockSize
    }
}
