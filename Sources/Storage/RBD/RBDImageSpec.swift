/// Which RBD image a device is, and how to reach its cluster.
public struct RBDImageSpec: Sendable, Hashable, CustomStringConvertible {
    public var pool: String
    /// "" for the pool's default namespace.
    public var namespace: String
    public var image: String
    /// ceph.conf: the monitors, and the keyring holding the client's key.
    public var cephConf: String
    /// The cephx client id (`admin` is `client.admin`).
    public var cephID: String

    public static let defaultCephConf = "/etc/ceph/ceph.conf"
    public static let defaultCephID = "admin"

    public init(pool: String, namespace: String = "", image: String, cephConf: String = RBDImageSpec.defaultCephConf,
                cephID: String = RBDImageSpec.defaultCephID) {
        self.pool = pool
        self.namespace = namespace
        self.image = image
        self.cephConf = cephConf
        self.cephID = cephID
    }

    /// `POOL/IMAGE` or `POOL/NAMESPACE/IMAGE`; nil for anything else.
    public static func parsePath(_ text: String) -> (pool: String, namespace: String, image: String)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy({ !$0.isEmpty && !$0.contains("@") }) else { return nil }
        switch parts.count {
        case 2: return (parts[0], "", parts[1])
        case 3: return (parts[0], parts[1], parts[2])
        default: return nil
        }
    }

    /// `pool/image` or `pool/namespace/image`.
    public var path: String { namespace.isEmpty ? "\(pool)/\(image)" : "\(pool)/\(namespace)/\(image)" }
    public var description: String { "rbd \(path)" }
}
