#if canImport(Glibc)
import Glibc
#endif
import CSystemShims

/// The end of the machine: every remaining process asked to stop, then killed; disks
/// synced; the config partition unmounted (or at least made read-only); then power off or
/// reboot. Never returns: if the kernel refuses to power off, PID 1 waits forever rather
/// than exit (an exiting PID 1 is a kernel panic).
public struct Shutdown: Sendable {
    public enum Action: Sendable, Equatable {
        case powerOff, reboot
    }

    public let console: Console
    public let kernelMounts: KernelMounts
    /// Mounted filesystems backed by disks, unmounted first (/config).
    public let diskMounts: [String]

    public init(console: Console, kernelMounts: KernelMounts, diskMounts: [String]) {
        self.console = console
        self.kernelMounts = kernelMounts
        self.diskMounts = diskMounts
    }

    public func finish(_ action: Action) -> Never {
        // Anything still running (the service is already gone if it could be stopped).
        if kill(-1, SIGTERM) == 0 {
            reapAll(until: MonotonicClock.now() + 3)
            if kill(-1, SIGKILL) == 0 { reapAll(until: MonotonicClock.now() + 2) }
        }
        sync()
        for path in diskMounts {
            if targe_umount(path, 0) == 0 {
                console.say("unmounted \(path)")
            } else {
                let code = errno
                // Busy: a read-only remount still leaves a clean filesystem behind.
                let ro = targe_mount("", path, "", targe_ms_remount_readonly(), "")
                console.say("cannot unmount \(path) (\(String(cString: strerror(code))))" + (ro == 0 ? "; remounted read-only" : ""))
            }
        }
        _ = kernelMounts.unmountAll()
        sync()
        console.say(action == .powerOff ? "powering off" : "rebooting")
        _ = action == .powerOff ? targe_power_off() : targe_restart()
        console.say("the kernel refused to \(action == .powerOff ? "power off" : "reboot") (\(String(cString: strerror(errno)))); halted")
        while true { pause() }
    }

    /// Reaps children until none is left or the deadline passes.
    private func reapAll(until deadline: Double) {
        var status: Int32 = 0
        while MonotonicClock.now() < deadline {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid < 0 && errno == ECHILD { return }
            if pid <= 0 { usleep(20_000) }
        }
    }
}
