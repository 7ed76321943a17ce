/// The seeds' stop/start/restart buttons, plus reboot and power off of the appliance.
enum ServicePage {
    static func run(_ context: MenuContext) throws(MenuExit) {
        while true {
            let header = ["iSCSI service: " + context.service.stateDescription()]
                + (context.session.hasUnsavedChanges ? ["Unsaved changes are not applied until you save."] : [])
            let choice = try context.io.choose("Service", [
                MenuOption("1", "Start the iSCSI service"),
                MenuOption("2", "Stop the iSCSI service"),
                MenuOption("3", "Restart the iSCSI service"),
                MenuOption("4", "Reboot the appliance"),
                MenuOption("5", "Power off the appliance"),
                MenuOption("0", "Back"),
            ], header: header)
            let action: (String, (ServiceControlling) throws(ServiceControlError) -> Void)
            switch choice {
            case "1": action = ("Start of the iSCSI service requested.", { service throws(ServiceControlError) in try service.start() })
            case "2": action = ("Stop of the iSCSI service requested.", { service throws(ServiceControlError) in try service.stop() })
            case "3": action = ("Restart of the iSCSI service requested.", { service throws(ServiceControlError) in try service.restart() })
            case "4":
                guard try confirmDrastic(context, "Reboot the appliance? Initiators lose their sessions.") else { continue }
                action = ("Reboot requested.", { service throws(ServiceControlError) in try service.reboot() })
            case "5":
                guard try confirmDrastic(context, "Power off the appliance? Initiators lose their sessions.") else { continue }
                action = ("Power off requested.", { service throws(ServiceControlError) in try service.powerOff() })
            default:
                return
            }
            let outcome: String
            do throws(ServiceControlError) {
                try action.1(context.service)
                outcome = action.0
            } catch {
                outcome = error.message
            }
            try context.io.say(outcome)
        }
    }

    /// Reboot and power off drop every session, and unsaved edits would be lost with them.
    private static func confirmDrastic(_ context: MenuContext, _ question: String) throws(MenuExit) -> Bool {
        if context.session.hasUnsavedChanges {
            try context.io.say("There are unsaved changes; they will be lost.")
        }
        return try context.io.confirm(question)
    }
}
