import CSystemShims

/// Keeps the receive and read buffers (up to a MiB each, freed and allocated again for every
/// few commands) in the heap instead of mapping and unmapping them: with glibc's defaults a
/// buffer over the mmap threshold comes back as fresh pages that fault and get zeroed, which
/// measured 7-8% of the CPU of 128 KiB writes. Up to `trimThreshold` of free heap stays with
/// the process; beyond it, memory goes back to the system (after a burst, for example).
enum MallocTuning {
    static let mmapThreshold: Int32 = 4 << 20
    static let trimThreshold: Int32 = 64 << 20

    /// Call before the event loops start (the setting is process-wide).
    static func apply() {
        _ = targe_tune_malloc(mmapThreshold, trimThreshold)
    }
}
