/// The interim console UI until the setup menu lands: one word per line.
public enum ConsoleCommand: Equatable, Sendable {
    case status, start, stop, restart, reload, reboot, powerOff, help, menu
    case empty
    case unknown(String)

    public static func parse(_ line: String) -> ConsoleCommand {
        let word = line.trimmed().lowercased()
        switch word {
        case "": return .empty
        case "status", "s": return .status
        case "start": return .start
        case "stop": return .stop
        case "restart": return .restart
        case "reload": return .reload
        case "reboot": return .reboot
        case "poweroff", "power-off", "halt", "shutdown": return .powerOff
        case "help", "?", "h": return .help
        case "menu", "m", "setup": return .menu
        default: return .unknown(word)
        }
    }

    public static let helpLine = "commands: status | start | stop | restart | reload (the iSCSI service) | reboot | poweroff"
    public static let helpLineWithMenu = "commands: menu (setup) | status | start | stop | restart | reload (the iSCSI service) | reboot | poweroff"
}
