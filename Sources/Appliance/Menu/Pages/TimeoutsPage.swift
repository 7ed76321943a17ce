import Config

/// [timeouts], in seconds; the ranges are the parser's.
enum TimeoutsPage {
    static func run(_ context: MenuContext) throws(MenuExit) {
        while true {
            let t = context.session.config.timeouts
            switch try context.io.choose("Timeout settings (seconds)", [
                MenuOption("1", "NOP-In ping interval when idle: \(t.nopInterval) (0 = never)"),
                MenuOption("2", "Ping reply timeout: \(t.nopTimeout)"),
                MenuOption("3", "Login timeout: \(t.loginTimeout)"),
                MenuOption("0", "Back"),
            ]) {
            case "1":
                try context.editSetting("Seconds between pings (Enter keeps): ", InputParsers.integer) {
                    $0.timeouts.nopInterval = $1
                }
            case "2":
                try context.editSetting("Seconds to wait for a ping reply (Enter keeps): ", InputParsers.integer) {
                    $0.timeouts.nopTimeout = $1
                }
            case "3":
                try context.editSetting("Seconds a login may take (Enter keeps): ", InputParsers.integer) {
                    $0.timeouts.loginTimeout = $1
                }
            default:
                return
            }
        }
    }
}
