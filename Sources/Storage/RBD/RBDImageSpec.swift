/// Which RBD image a device is, and how to reach its cluster (Storage's terms for the config's
/// `RBDSource`, which `CatalogBuilder` maps onto it).
public struct RBDImageSpec: Sendable, Hashable, CustomStringConvertible {
    public var pool: String
    /// "" for the pool's default namespace.
    public var namespace: String
    public var image: String
    /// ceph.conf: the monitors, and the keyring holding the client's key.
    public var cephConf: String
    /// The cephx client id (`admin` is `client.admin`).
    public var cephID: String
    /// The gateway this server is when several serve the image (`[server] gateway-name`):
    /// it then serves only while it holds the image's exclusive lock, and takes the lock over
    /// from a gateway that died. nil: this server alone, and librbd moves the lock as it likes.
    public var gateway: String?

    public static let defaultCephConf = "/etc/ceph/ceph.conf"
    public static let defaultCephID = "admin"

    public init(pool: String, namespace: String = "", image: String, cephConf: String = RBDImageSpec.defaultCephConf,
                cephID: String = RBDImageSpec.defaultCephID, gateway: String? = nil) {
        self.gateway = gateway
        self.pool = pool
        self.namespace = namespace
        self.image = image
        self.cephConf = cephConf
        self.cephID = cephID
    }

    /// `pool/image` or `pool/namespace/image`.
    public var path: String { namespace.isEmpty ? "\(pool)/\(image)" : "\(pool)/\(namespace)/\(image)" }
    public var description: String { "rbd \(path)" }
}
