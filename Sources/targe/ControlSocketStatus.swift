import Appliance
import ISCSITarget

/// The menu's Status page and its "Save and apply": what the running target says over its
/// control socket (the same text as `targe status` and `targe reload`), on the appliance
/// and on a host where `targe serve` runs with the same config file.
struct ControlSocketStatus: StatusSource {
    let path: String

    func statusLines() throws(StatusUnavailable) -> [String] {
        do {
            return try ControlClient.request("status", path: path)
        } catch {
            throw StatusUnavailable("no status from the iSCSI service: \(error)")
        }
    }

    func reload() throws(StatusUnavailable) -> [String] {
        do {
            return try ControlClient.request("reload", path: path, timeoutSeconds: 120)
        } catch {
            throw StatusUnavailable("the iSCSI service did not answer: \(error)")
        }
    }
}
