/// The privileged opener's wire format: one request per SOCK_SEQPACKET message, one reply.
///
///     request: 0x01 'O' flags(1) createSize(8, big-endian) path(1...4096 bytes of UTF-8, no NUL)
///              flags bit 0: create a sparse file of createSize bytes if the path is missing
///     reply:   errno (4 bytes, big-endian; 0 = success, the descriptor rides along as SCM_RIGHTS)
///
///     request: 0x01 'B' port(2, big-endian) host(1...45 bytes: an IPv4 or IPv6 literal)
///              bind and listen on a portal the config lists (a reload added it, and after the
///              privilege drop the target cannot bind a port below 1024 itself)
///     reply:   as for 'O', the descriptor of the listening socket
///
///     request: 0x01 'C'
///              open the config file the helper was started with, read-only (a reload
///              after the privilege drop reads it through here: the file is root's, mode 0600)
///
/// Anything else is refused: the helper runs with privileges, so its parser is small and
/// strict, and it only ever opens paths that the config names as devices, and the config.
public struct OpenRequest: Sendable, Equatable {
    public static let version: UInt8 = 1
    public static let openOperation = UInt8(ascii: "O")
    public static let readConfigOperation = UInt8(ascii: "C")
    /// The whole 'C' request.
    public static let readConfigRequest: [UInt8] = [version, readConfigOperation]
    public static let maxPathLength = 4096
    static let headerLength = 11

    public var path: String
    /// Size of the sparse file to create when the path does not exist; nil: never create.
    public var createSize: UInt64?

    public init(path: String, createSize: UInt64?) {
        self.path = path
        self.createSize = createSize
    }

    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = [Self.version, Self.openOperation, createSize == nil ? 0 : 1]
        let size = createSize ?? 0
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: size >> UInt64(shift))) }
        bytes.append(contentsOf: path.utf8)
        return bytes
    }

    public enum DecodeError: Error, Equatable {
        case tooShort, badVersion, unknownOperation, badFlags, badPath
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> OpenRequest {
        guard bytes.count > headerLength else { throw .tooShort }
        guard bytes[0] == version else { throw .badVersion }
        guard bytes[1] == openOperation else { throw .unknownOperation }
        guard bytes[2] <= 1 else { throw .badFlags }
        var size: UInt64 = 0
        for i in 3..<headerLength { size = size << 8 | UInt64(bytes[i]) }
        let pathBytes = bytes[headerLength...]
        guard pathBytes.count <= maxPathLength, !pathBytes.contains(0), pathBytes.first == UInt8(ascii: "/"),
              let path = String(validating: pathBytes, as: UTF8.self) else { throw .badPath }
        if bytes[2] == 0 && size != 0 { throw .badFlags }
        return OpenRequest(path: path, createSize: bytes[2] == 1 ? size : nil)
    }
}

/// Which opens the helper grants: exactly the device paths of the config, and creation only
/// where the config says `create yes`, with the size it implies.
public struct OpenPolicy: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var createSize: UInt64?
        public init(path: String, createSize: UInt64?) {
            self.path = path
            self.createSize = createSize
        }
    }
    public var entries: [Entry]
    /// The portals the config lists (`listen`): the only ones the helper binds.
    public var portals: [BindRequest]

    public init(entries: [Entry], portals: [BindRequest] = []) {
        self.entries = entries
        self.portals = portals
    }

    /// nil when the config lists the portal, else the reason to refuse.
    public func refusal(for request: BindRequest) -> String? {
        portals.contains(request) ? nil : "\(request.host):\(request.port) is not a listen portal in the config"
    }

    /// nil when allowed, else the reason to refuse.
    public func refusal(for request: OpenRequest) -> String? {
        guard let entry = entries.first(where: { $0.path == request.path }) else {
            return "\(request.path) is not a device path in the config"
        }
        if let size = request.createSize, size != entry.createSize {
            return "the config does not allow creating \(request.path) with \(size) bytes"
        }
        return nil
    }
}

/// A 'B' request: the portal to bind.
public struct BindRequest: Sendable, Equatable {
    public static let operation = UInt8(ascii: "B")
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public func encoded() -> [UInt8] {
        [OpenRequest.version, Self.operation, UInt8(port >> 8), UInt8(port & 0xff)] + Array(host.utf8)
    }

    /// nil unless `bytes` is a 'B' request with a numeric address of at most 45 bytes.
    public static func decode(_ bytes: [UInt8]) -> BindRequest? {
        guard bytes.count > 4, bytes.count <= 4 + 45, bytes[0] == OpenRequest.version, bytes[1] == operation,
              let host = String(validating: bytes[4...], as: UTF8.self),
              host.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) else { return nil }
        return BindRequest(host: host, port: UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
    }
}
