/// A device that may not be able to serve yet, and says when that changes: an RBD image whose
/// cluster was unreachable at start becomes ready when a retry reaches it. The LU over it
/// answers NOT READY meanwhile and takes the device's size when it becomes ready.
public protocol DeviceReadiness: BlockDevice {
    var isReady: Bool { get }
    /// Called (on any thread) when the device becomes ready, with its size then, and again
    /// whenever it grows (an RBD image resized in the cluster). One handler; a later call
    /// replaces it.
    func whenReady(_ handler: @escaping @Sendable (_ size: UInt64) -> Void)
}
