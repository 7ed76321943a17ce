import Config

/// [device NAME] sections, the seeds' "devices to share": disks, partitions, volumes, md
/// devices and files, whole or sliced, and RAM disks.
enum DevicesPage {
    static func run(_ context: MenuContext) throws(MenuExit) {
        while true {
            let devices = context.session.config.devices
            let list = devices.isEmpty ? ["  (no devices yet)"]
                : devices.enumerated().map { "  \($0.offset + 1). \($0.element.name): \(describe($0.element))" }
            switch try context.io.choose("Devices to share", [
                MenuOption("1", "Add a device"),
                MenuOption("2", "Edit a device"),
                MenuOption("3", "Remove a device"),
                MenuOption("0", "Back"),
            ], header: list) {
            case "1": try add(context)
            case "2":
                if let index = try context.pick("Device to edit", from: devices.map(\.name)) {
                    try DeviceForm.run(context, name: devices[index].name)
                }
            case "3":
                if let index = try context.pick("Device to remove", from: devices.map(\.name)) {
                    try remove(context, name: devices[index].name)
                }
            default: return
            }
        }
    }

    /// "/dev/vdb, entire device", "/srv/a.img, 10GiB at 1MiB, buffered", "RAM disk 256MiB".
    static func describe(_ device: DeviceConfig) -> String {
        switch device.source {
        case .ram(let bytes):
            return "RAM disk \(formatSize(bytes))"
        case .path(let path):
            var parts = [path]
            let size = device.size.map(formatSize) ?? (device.offset == 0 ? "entire device" : "to the end")
            parts.append(device.offset == 0 ? size : "\(size) at \(formatSize(device.offset))")
            if let engine = device.engine { parts.append(engine.rawValue) }
            if device.create { parts.append("created if missing") }
            if let blockSize = device.blockSize { parts.append("\(blockSize)-byte blocks") }
            return parts.joined(separator: ", ")
        }
    }

    /// Asks for the name and the source, then the optional parts of a file or disk device;
    /// Enter at the name or the source cancels.
    private static func add(_ context: MenuContext) throws(MenuExit) {
        var draft = context.session.config
        guard let name = try context.askNewName("New device name (Enter to cancel): ", what: "device", taken: { name in
            ConfigReferences.storageNameTaken(name, in: draft) ? "'\(name)' is already a device or combination." : nil
        }) else { return }
        try context.editField(&draft, DeviceForm.sourcePrompt + " (Enter to cancel): ", DeviceForm.parseSource) { config, source in
            config.devices.append(DeviceConfig(name: name, source: source))
        }
        guard let device = draft.device(named: name) else { return }
        if case .path = device.source {
            try DeviceForm.editOffset(context, &draft, name: name)
            try DeviceForm.editSize(context, &draft, name: name)
            try DeviceForm.editEngine(context, &draft, name: name)
        }
        if try context.commit(draft) {
            try context.io.say("Added device \(name).")
        } else {
            try DeviceForm.run(context, name: name, draft: draft)
        }
    }

    /// SPEC 1: a device in use cannot be removed, and the message says by whom.
    private static func remove(_ context: MenuContext, name: String) throws(MenuExit) {
        let users = ConfigReferences.users(of: name, in: context.session.config)
        guard users.isEmpty else {
            try context.io.say("Device \(name) is used by " + users.joined(separator: ", ")
                + "; remove it from there first.")
            return
        }
        guard try context.io.confirm("Remove device \(name)?") else { return }
        if try context.change({ $0.devices.removeAll { $0.name == name } }) {
            try context.io.say("Removed device \(name).")
        }
    }
}
