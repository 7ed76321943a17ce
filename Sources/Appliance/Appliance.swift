/// The appliance side of Targe: PID 1 duties (mounts, config partition, networking, child
/// supervision, clean power-off) and the serial console menu. It arrives with issue 6; until
/// then `targe serve` refuses an `[appliance]` section (see Config's FeatureGate) instead of
/// ignoring it, and this namespace holds the facts the rest of the program may rely on.
public enum Appliance {
    /// The filesystem label of the config partition the appliance mounts at boot.
    public static let configPartitionLabel = "targe-config"
    /// Where the appliance keeps its config file on that partition.
    public static let configFileName = "targe.conf"
}
