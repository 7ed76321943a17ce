#if canImport(Glibc)
import Glibc
#endif

/// The ACPI power button (qemu's `system_powerdown`, a hypervisor's "shut down", a real
/// button press) as an input device: PID 1 powers off cleanly when it is pressed, instead
/// of the machine ignoring the request until it is cut off.
public struct PowerButton: Sendable {
    /// The name the kernel's ACPI button driver gives the device.
    public static let deviceName = "Power Button"
    static let eventSize = 24          // struct input_event on 64-bit: timeval, type, code, value
    static let evKey: UInt16 = 1
    static let keyPower: UInt16 = 116

    /// Whether `bytes` (whole input_event records) hold a press of KEY_POWER.
    public static func containsPress(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset + eventSize <= bytes.count {
            let type = UInt16(bytes[offset + 16]) | UInt16(bytes[offset + 17]) << 8
            let code = UInt16(bytes[offset + 18]) | UInt16(bytes[offset + 19]) << 8
            let value = UInt32(bytes[offset + 20]) | UInt32(bytes[offset + 21]) << 8
                | UInt32(bytes[offset + 22]) << 16 | UInt32(bytes[offset + 23]) << 24
            if type == evKey && code == keyPower && value == 1 { return true }
            offset += eventSize
        }
        return false
    }

    /// Opens every input device called "Power Button" (non-blocking); empty if there is none
    /// (the button and evdev modules missing, or no ACPI).
    public static func open(sysInput: String = "/sys/class/input", devices: String = "/dev/input") -> [Int32] {
        SystemFiles.list(sysInput).filter { $0.hasPrefix("event") }.compactMap { event in
            guard SystemFiles.attribute("\(sysInput)/\(event)/device/name") == deviceName else { return nil }
            let fd = Glibc.open("\(devices)/\(event)", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            return fd >= 0 ? fd : nil
        }
    }

    /// Reads what is pending on `fd`; true if it includes a press.
    public static func pressed(on fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: eventSize * 16)
        var seen = false
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return seen }
            seen = seen || containsPress(Array(buffer[0..<n]))
        }
    }
}
