import CSystemShims
import NIOPosix

/// Notices when a flood of connections has ended (there were at least `floodSize` at once,
/// and now a quarter of that peak or fewer), so that the heap they used goes back to the
/// system: glibc keeps freed memory in its arenas otherwise, and a target that survived one
/// flood would keep the flood's footprint for good. A value kept under the registry's lock.
struct FloodWatch {
    static let floodSize = 256
    private(set) var peak = 0

    /// The number of open connections changed to `open`: true when a flood just ended.
    mutating func connections(_ open: Int) -> Bool {
        peak = max(peak, open)
        guard peak >= Self.floodSize, open <= peak / 4 else { return false }
        peak = open
        return true
    }

    /// Gives free heap pages back to the system, off the event loops (it walks every arena).
    static func returnFreeMemory() {
        NIOThreadPool.singleton.submit { _ in _ = targe_malloc_trim() }
    }
}
