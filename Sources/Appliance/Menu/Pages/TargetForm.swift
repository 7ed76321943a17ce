import Config

/// Editing one target on a draft of the whole config; "Done" keeps it if it is valid.
enum TargetForm {
    static func run(_ context: MenuContext, name: String, draft start: TargeConfig) throws(MenuExit) {
        var draft = start
        var name = name
        let chap = CHAPEditor(
            get: { config in config.target(named: name)?.incoming ?? [] },
            set: { config, users in config.targets.update(named: name) { $0.incoming = users } },
            getOutgoing: { config in config.target(named: name)?.outgoing },
            setOutgoing: { config, user in config.targets.update(named: name) { $0.outgoing = user } })
        while let target = draft.target(named: name) {
            let rows = TextLayout.table([
                ("name", name),
                ("iqn", target.iqn),
                ("alias", target.alias ?? "(none)"),
                ("luns", target.luns.isEmpty ? "(none)" : target.luns.map { "\($0.lun) \($0.device)" }.joined(separator: ", ")),
                ("access", target.access == .readOnly ? "ro (read-only)" : "rw (read/write)"),
                ("allow", target.allow.isEmpty ? "all" : target.allow.map(\.description).joined(separator: ", ")),
                ("incoming", target.incoming.isEmpty ? "(none: [auth] users apply)" : CHAPEditor.describe(target.incoming)),
                ("outgoing", target.outgoing.map(CHAPEditor.describe) ?? "(none: [auth]'s applies)"),
            ])
            switch try context.io.choose("Target \(name)", [
                MenuOption("1", "Name"),
                MenuOption("2", "IQN"),
                MenuOption("3", "Alias"),
                MenuOption("4", "LUNs"),
                MenuOption("5", "Access (rw or ro)"),
                MenuOption("6", "Allowed initiators and networks"),
                MenuOption("7", "CHAP users (incoming)"),
                MenuOption("8", "Mutual CHAP (outgoing user)"),
                MenuOption("9", "Discard these changes"),
                MenuOption("0", "Done"),
            ], header: rows) {
            case "1":
                let current = name
                if let new = try context.askNewName("New name (Enter keeps): ", what: "target", taken: { candidate in
                    candidate != current && draft.target(named: candidate) != nil
                        ? "There is already a target '\(candidate)'." : nil
                }) {
                    // A derived IQN follows the new name, as it would in a hand-edited file.
                    let wasDerived = target.iqn == TargetsPage.derivedIQN(name, in: draft)
                    let newIQN = TargetsPage.derivedIQN(new, in: draft)
                    draft.targets.update(named: name) {
                        $0.name = new
                        if wasDerived { $0.iqn = newIQN }
                    }
                    name = new
                }
            case "2": try editIQN(context, &draft, name: name)
            case "3":
                try context.editField(&draft, "Alias shown to initiators (Enter keeps, - removes): ", clearable(parseAlias)) {
                    config, alias in
                    config.targets.update(named: name) { $0.alias = alias }
                }
            case "4": try editLUNs(context, &draft, name: name)
            case "5":
                try context.editField(&draft, "Access, rw or ro (Enter keeps): ", parseAccess) { config, access in
                    config.targets.update(named: name) { $0.access = access }
                }
            case "6": try editAllow(context, &draft, name: name)
            case "7": try chap.editIncoming(context, &draft, title: "CHAP users of target \(name)")
            case "8": try chap.editOutgoing(context, &draft)
            case "9": return
            default:
                if try context.commit(draft) { return }
            }
        }
    }

    static func editIQN(_ context: MenuContext, _ draft: inout TargeConfig, name: String) throws(MenuExit) {
        let derived = TargetsPage.derivedIQN(name, in: draft)
        try context.io.say("IQN: \(draft.target(named: name)?.iqn ?? derived)")
        try context.editField(&draft, "IQN (Enter keeps, 'default' for \(derived)): ", { text in
            text.lowercased() == "default" ? .success(derived) : InputParsers.iscsiName(text)
        }) { config, iqn in
            config.targets.update(named: name) { $0.iqn = iqn }
        }
    }

    private static func editLUNs(_ context: MenuContext, _ draft: inout TargeConfig, name: String) throws(MenuExit) {
        while let target = draft.target(named: name) {
            let list = target.luns.isEmpty ? ["  (no LUNs)"] : target.luns.map { "  lun \($0.lun): \($0.device)" }
            switch try context.io.choose("LUNs of target \(name)", [
                MenuOption("1", "Add a LUN"),
                MenuOption("2", "Remove a LUN"),
                MenuOption("0", "Back"),
            ], header: list) {
            case "1":
                let next = (target.luns.map(\.lun).max() ?? -1) + 1
                try context.io.say("Devices and combinations:")
                try context.io.say(lines: TextLayout.table(ConfigReferences.storageChoices(in: draft)))
                try context.editField(&draft, "LUN number and device, e.g. '\(next) disk1' (Enter to cancel): ", parseLUN) {
                    config, lun in
                    config.targets.update(named: name) { $0.luns.append(lun) }
                }
            case "2":
                let numbers = target.luns.map(\.lun)
                let lun: Int? = try context.io.ask("LUN number to remove (Enter to cancel): ") { text in
                    if text.isEmpty { return .success(nil) }
                    guard let number = Int(text), numbers.contains(number) else {
                        return .failure(InputError("No lun '\(text)'; the LUNs are "
                            + numbers.map(String.init).joined(separator: ", ") + "."))
                    }
                    return .success(number)
                }
                if let lun { draft.targets.update(named: name) { $0.luns.removeAll { $0.lun == lun } } }
            default:
                return
            }
        }
    }

    private static func editAllow(_ context: MenuContext, _ draft: inout TargeConfig, name: String) throws(MenuExit) {
        while let target = draft.target(named: name) {
            let list = target.allow.isEmpty ? ["  (everyone may log in)"]
                : target.allow.enumerated().map { "  \($0.offset + 1). \($0.element)" }
            switch try context.io.choose("Allowed initiators and networks of \(name)", [
                MenuOption("1", "Add a network, address or initiator name"),
                MenuOption("2", "Remove an entry"),
                MenuOption("0", "Back"),
            ], header: list + ["Networks say where from, names say who; both must match."]) {
            case "1":
                try context.editField(&draft, "Network, address or initiator name (Enter to cancel): ",
                                      InputParsers.targetAllow) { config, entry in
                    config.targets.update(named: name) { if !$0.allow.contains(entry) { $0.allow.append(entry) } }
                }
            case "2":
                if let index = try context.pick("Entry to remove", from: target.allow.map(\.description)) {
                    draft.targets.update(named: name) { $0.allow.remove(at: index) }
                }
            default:
                return
            }
        }
    }

    static func parseLUN(_ text: String) -> Result<LUNMapping, InputError> {
        let words = text.split(separator: " ").map(String.init)
        guard words.count == 2, let number = Int(words[0]) else {
            return .failure(InputError("Give a LUN number and a device name, e.g. '0 disk1'."))
        }
        return InputParsers.word(words[1], what: "device name").map { LUNMapping(lun: number, device: $0) }
    }

    static func parseAccess(_ text: String) -> Result<TargetAccess, InputError> {
        switch text.lowercased() {
        case "rw", "read-write": .success(.readWrite)
        case "ro", "read-only": .success(.readOnly)
        default: .failure(InputError("Bad access '\(text)': rw (read/write) or ro (read-only)."))
        }
    }

    /// Spaces are fine in an alias (the file keeps the rest of the line); '#' is not.
    static func parseAlias(_ text: String) -> Result<String, InputError> {
        text.contains("#") ? .failure(InputError("The alias cannot contain '#'."))
            : .success(text.split(separator: " ").joined(separator: " "))
    }

}
