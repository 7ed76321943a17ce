import Config

/// The config an appliance starts with when its config partition holds none: something
/// useful at once under qemu's user networking (address 10.0.2.15/24, gateway 10.0.2.2),
/// sharing the first data disk if there is one, else a small RAM disk to try things on.
public enum FirstBootConfig {
    public static let nodeBase = "iqn.2026-11.org.targe.appliance"

    /// `dataDisk`: a whole disk such as /dev/vdb to share as LUN 0 of target `data`.
    /// `advertise`: the address initiators reach the portal on when it is not the guest's own
    /// (qemu's port forward: 127.0.0.1 and the host port, which image/run.sh passes as an
    /// SMBIOS OEM string), for SendTargets to report.
    public static func text(dataDisk: String?, advertise: Portal? = nil) -> String {
        let listen = "0.0.0.0:3260" + (advertise.map { " advertise \($0)" } ?? "")
        let share: String
        if let dataDisk {
            share = """
                # ---- devices to share: the first data disk ----
                [device data]
                path    \(dataDisk)
                engine  buffered

                [target data]
                lun     0 data
                """
        } else {
            share = """
                # ---- devices to share: no data disk was attached, so a RAM disk (lost at power-off) ----
                [device scratch]
                ram     64MiB

                [target scratch]
                lun     0 scratch
                """
        }
        return """
            # Targe appliance: first-boot default, written because the config partition held
            # no targe.conf. Edit it (CONFIG.md describes every key) and restart the service.

            [appliance]
            hostname  targe
            address   10.0.2.15/24      # qemu user networking; or: dhcp
            gateway   10.0.2.2
            console   ttyS0

            [server]
            node-base  \(nodeBase)
            listen     \(listen)
            user       targe

            \(share)

            """
    }
}
