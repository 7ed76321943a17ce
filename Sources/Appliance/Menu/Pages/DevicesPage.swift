import Config

/// [device NAME] sections, the seeds' "devices to share": disks, partitions, volumes, md
/// devices and files, whole or sliced, and RAM disks.
enum DevicesPage {
    static func run(_ context: MenuContext) throws(MenuExit) {
        try RecordList(title: "Devices to share", noun: "device",
                       items: { config in
                           config.devices.map { ($0.name, describe($0) + ConfigReferences.usage(of: $0.name, in: config)) }
                       },
                       add: add,
                       edit: { context, name throws(MenuExit) in try DeviceForm.run(context, name: name) },
                       remove: { context, name throws(MenuExit) in
                           try RecordList.removeStorage(context, "device", name) { $0.devices.removeAll { $0.name == name } }
                       }).run(context)
    }

    /// "/dev/vdb, entire device", "/srv/a.img, 10GiB at 1MiB, buffered", "RAM disk 256MiB".
    static func describe(_ device: DeviceConfig) -> String {
        switch device.source {
        case .ram(let bytes):
            return "RAM disk \(formatSize(bytes))"
        case .rbd(let rbd):
            return "RBD image \(rbd.path)" + (rbd.cephID == RBDSource.defaultCephID ? "" : " as client.\(rbd.cephID)")
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
}
