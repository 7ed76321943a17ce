/// Whether this process should be the appliance's init. Being PID 1 is not enough: in a
/// container `targe serve --config ...` can be PID 1 too, and must serve, not mount /proc
/// and power off. The kernel starts /init with argv[0] "/init" and passes on only boot
/// parameters it did not understand, so: PID 1 and started as `init` (or with no arguments
/// at all), or PID 1 and asked for `init` explicitly.
public enum InitDetection {
    public static func shouldRunInit(pid: Int32, arguments: [String]) -> Bool {
        guard pid == 1 else { return false }
        let name = arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? ""
        return name == "init" || arguments.count <= 1 || arguments[1] == "init"
    }
}
