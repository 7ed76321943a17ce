/// The appliance side of Targe: PID 1 duties (Init/: mounts, config partition, networking,
/// child supervision, clean power-off), the privilege drop and the privileged opener. This
/// namespace holds the facts the rest of the program may rely on.
public enum Appliance {
    /// The filesystem label of the config partition the appliance mounts at boot.
    public static let configPartitionLabel = "targe-config"
    /// Where the appliance keeps its config file on that partition.
    public static let configFileName = "targe.conf"
}
