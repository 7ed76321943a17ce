/// Where a device's blocks live.
public enum DeviceSource: Sendable, Equatable {
    /// An absolute path: a block device (disk, partition, LV, md) or a regular file.
    case path(String)
    /// A RAM disk of this many bytes, gone at exit (tests and scratch).
    case ram(bytes: UInt64)
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
