import Config

/// Editing one device. Changes go to a draft of the whole config, each checked as it is
/// made; "Done" keeps the draft only if the device as a whole is valid.
enum DeviceForm {
    static let sourcePrompt = "Path of the disk, partition, volume or file, 'ram SIZE' for a RAM disk, or 'rbd POOL/IMAGE'"

    static func run(_ context: MenuContext, name: String, draft start: TargeConfig? = nil) throws(MenuExit) {
        var draft = start ?? context.session.config
        var name = name
        while let device = draft.device(named: name) {
            var rows = [("name", device.name)]
            switch device.source {
            case .path(let path):
                rows += [
                    ("path", path),
                    ("offset", formatSize(device.offset)),
                    ("size", device.size.map(formatSize) ?? "entire device"),
                    ("engine", device.engine?.rawValue ?? "default (aio for block devices)"),
                    ("create", device.create ? "yes, as a sparse file if missing" : "no"),
                ]
            case .ram(let bytes):
                rows.append(("ram", formatSize(bytes)))
            case .rbd(let rbd):
                rows += [("rbd", rbd.path), ("ceph-conf", rbd.cephConf), ("ceph-id", rbd.cephID)]
            }
            rows.append(("block size", "\(device.effectiveBlockSize)"))
            switch try context.io.choose("Device \(name)", [
                MenuOption("1", "Name"),
                MenuOption("2", "Path, or RAM disk size"),
                MenuOption("3", "Offset (start of the slice)"),
                MenuOption("4", "Size (of the slice)"),
                MenuOption("5", "I/O engine (aio or buffered)"),
                MenuOption("6", "Block size (512 or 4096)"),
                MenuOption("7", "Create the file if missing"),
                MenuOption("8", "Discard these changes"),
                MenuOption("0", "Done"),
            ], header: TextLayout.table(rows)) {
            case "1":
                try context.renameStorage(&draft, &name, noun: "device")
            case "2":
                try context.editField(&draft, sourcePrompt + " (Enter keeps): ", parseSource) { config, source in
                    config.devices.update(named: name) { device in
                        device.source = source
                        // A RAM disk or RBD image has no file to slice, cache or create (the parser
                        // refuses these).
                        if case .path = source {} else {
                            device.offset = 0
                            device.size = nil
                            device.engine = nil
                            device.create = false
                        }
                    }
                }
            case "3": try editOffset(context, &draft, name: name)
            case "4": try editSize(context, &draft, name: name)
            case "5": try editEngine(context, &draft, name: name)
            case "6":
                try context.editField(&draft, "Block size, 512 or 4096 (Enter keeps): ", InputParsers.integer) { config, size in
                    config.devices.update(named: name) { $0.blockSize = size }
                }
            case "7":
                try context.editField(&draft, "Create the file (sparse) if it is missing? yes/no (Enter keeps): ",
                                      InputParsers.yesNo) { config, create in
                    config.devices.update(named: name) { $0.create = create }
                }
            case "8":
                return
            default:
                if try context.commit(draft) { return }
            }
        }
    }

    static func editOffset(_ context: MenuContext, _ draft: inout TargeConfig, name: String) throws(MenuExit) {
        try context.editField(&draft, "Offset, e.g. 1MiB (Enter keeps \(offsetText(draft, name))): ",
                              InputParsers.size) { config, offset in
            config.devices.update(named: name) { $0.offset = offset }
        }
    }

    static func editSize(_ context: MenuContext, _ draft: inout TargeConfig, name: String) throws(MenuExit) {
        try context.editField(&draft, "Size, e.g. 10GiB, or 'entire' (Enter keeps \(sizeText(draft, name))): ",
                              { text in text.lowercased() == "entire" ? .success(nil) : InputParsers.size(text).map { $0 } }) {
            config, size in
            config.devices.update(named: name) { $0.size = size }
        }
    }

    static func editEngine(_ context: MenuContext, _ draft: inout TargeConfig, name: String) throws(MenuExit) {
        try context.editField(&draft, "I/O engine: aio, buffered, or 'default' (Enter keeps): ", parseEngine) { config, engine in
            config.devices.update(named: name) { $0.engine = engine }
        }
    }

    /// "ram 256MiB" or a path as the file takes it (absolute; the parser says so otherwise).
    static func parseSource(_ text: String) -> Result<DeviceSource, InputError> {
        let words = text.split(separator: " ")
        if words.first?.lowercased() == "rbd" {
            guard words.count == 2, let parsed = RBDSource.parsePath(String(words[1])) else {
                return .failure(InputError("Give the image as POOL/IMAGE or POOL/NAMESPACE/IMAGE, e.g. rbd rbd/vm1."))
            }
            // The cluster's default ceph.conf and client.admin; other values are edited in the file.
            return .success(.rbd(RBDSource(pool: parsed.pool, namespace: parsed.namespace, image: parsed.image)))
        }
        if words.first?.lowercased() == "ram" {
            guard words.count == 2 else { return .failure(InputError("Give the RAM disk size, e.g. ram 256MiB.")) }
            return InputParsers.size(String(words[1])).map { .ram(bytes: $0) }
        }
        return InputParsers.word(text, what: "path").map { .path($0) }
    }

    static func parseEngine(_ text: String) -> Result<Engine?, InputError> {
        if text.lowercased() == "default" { return .success(nil) }
        return Engine(rawValue: text.lowercased()).map { .success($0) }
            ?? .failure(InputError("Bad engine '\(text)': aio, buffered or default."))
    }

    private static func offsetText(_ config: TargeConfig, _ name: String) -> String {
        formatSize(config.device(named: name)?.offset ?? 0)
    }

    private static func sizeText(_ config: TargeConfig, _ name: String) -> String {
        config.device(named: name)?.size.map(formatSize) ?? "entire"
    }

}
