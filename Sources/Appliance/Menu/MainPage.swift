/// The top menu: one numbered line per page, in the order the seeds' modules present them.
enum MainPage {
    static let options = [
        MenuOption("1", "Network (hostname, address, gateway, console)"),
        MenuOption("2", "Devices to share"),
        MenuOption("3", "Device combinations (RAID0, RAID1)"),
        MenuOption("4", "Sharing targets"),
        MenuOption("5", "Authentication (CHAP)"),
        MenuOption("6", "Connection settings"),
        MenuOption("7", "Timeout settings"),
        MenuOption("8", "Allowed client addresses"),
        MenuOption("9", "Server options (node base, listen addresses, sessions)"),
        MenuOption("10", "Status"),
        MenuOption("11", "Service: stop, start, restart, reboot, power off"),
        MenuOption("12", "Save and apply"),
        MenuOption("0", "Quit"),
    ]

    /// Shows the menu once and runs the chosen page; true when the user has quit.
    static func run(_ context: MenuContext, savedOnce: inout Bool) throws(MenuExit) -> Bool {
        let state = context.session.hasUnsavedChanges ? "unsaved changes" : "no unsaved changes"
        let header = ["Config: \(context.session.path) (\(state))"]
        switch try context.io.choose("Targe setup", options, header: header) {
        case "1": try NetworkPage.run(context)
        case "2": try DevicesPage.run(context)
        case "3": try CombinationsPage.run(context)
        case "4": try TargetsPage.run(context)
        case "5": try AuthPage.run(context)
        case "6": try ConnectionPage.run(context)
        case "7": try TimeoutsPage.run(context)
        case "8": try ClientsPage.run(context)
        case "9": try ServerPage.run(context)
        case "10": try StatusPage.run(context)
        case "11": try ServicePage.run(context)
        case "12": if try SaveAction.run(context) { savedOnce = true }
        default: return try confirmQuit(context)
        }
        return false
    }

    private static func confirmQuit(_ context: MenuContext) throws(MenuExit) -> Bool {
        guard context.session.hasUnsavedChanges else { return true }
        return try context.io.confirm("There are unsaved changes. Quit and discard them?")
    }
}
