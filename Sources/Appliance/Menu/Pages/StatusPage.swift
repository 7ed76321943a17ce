/// Sessions, LUNs and RAID health from the running target, a screenful at a time.
enum StatusPage {
    static func run(_ context: MenuContext) throws(MenuExit) {
        try context.io.say()
        try context.io.say("Status")
        let lines: [String]
        do throws(StatusUnavailable) {
            lines = try context.status.statusLines()
        } catch {
            lines = [error.message]
        }
        try context.io.page(lines.isEmpty ? ["(nothing to report)"] : lines)
        try context.io.pause()
    }
}
