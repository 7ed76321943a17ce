#if canImport(Glibc)
import Glibc
#endif

/// Seconds on CLOCK_MONOTONIC: deadlines that neither wall-clock changes nor a slow
/// emulator's timer drift can fool.
public enum MonotonicClock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
