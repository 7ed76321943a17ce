import Config

/// [combination NAME] sections, the seeds' "device combinations": RAID0 (joined or
/// striped) and RAID1 (mirrored) sets of devices and other combinations.
enum CombinationsPage {
    static func run(_ context: MenuContext) throws(MenuExit) {
        try RecordList(title: "Device combinations", noun: "combination",
                       items: { config in
                           config.combinations.map { ($0.name, describe($0) + ConfigReferences.usage(of: $0.name, in: config)) }
                       },
                       add: add,
                       edit: { context, name throws(MenuExit) in
                           try form(context, name: name, draft: context.session.config)
                       },
                       remove: { context, name throws(MenuExit) in
                           try RecordList.removeStorage(context, "combination", name, note: " Its members are kept.") {
                               $0.combinations.removeAll { $0.name == name }
                           }
                       }).run(context)
    }

    /// "RAID1 mirror of disk1 disk2", "RAID0 stripe (64KiB) of a b", "RAID0 joined a b".
    static func describe(_ combination: CombinationConfig) -> String {
        let members = combination.members.joined(separator: " ")
        switch (combination.raid, combination.chunk) {
        case (.raid1, _): return "RAID1 mirror of \(members)"
        case (.raid0, let chunk?): return "RAID0 stripe (\(formatSize(chunk)) chunks) of \(members)"
        case (.raid0, nil): return "RAID0 joined \(members)"
        }
    }

    private static func add(_ context: MenuContext) throws(MenuExit) {
        var draft = context.session.config
        guard let name = try context.askNewName("New combination name (Enter to cancel): ", what: "combination",
                                                taken: { name in
            ConfigReferences.storageNameTaken(name, in: draft) ? "'\(name)' is already a device or combination." : nil
        }) else { return }
        let raid: RAIDLevel? = try context.io.ask("RAID level: 0 (joined or striped) or 1 (mirrored), Enter to cancel: ") {
            text in text.isEmpty ? .success(nil) : parseRAID(text).map { $0 }
        }
        guard let raid else { return }
        // Added with its level only, so the member and chunk checks below see a real section.
        draft.combinations.append(CombinationConfig(name: name, raid: raid, members: []))
        try showChoices(context, draft, excluding: name)
        try editMembers(context, &draft, name: name, keep: "Enter to cancel")
        guard draft.combination(named: name)?.members.isEmpty == false else { return }
        if raid == .raid0 { try editChunk(context, &draft, name: name) }
        if try context.commit(draft) {
            try context.io.say("Added combination \(name).")
        } else {
            try form(context, name: name, draft: draft)
        }
    }

    private static func form(_ context: MenuContext, name: String, draft start: TargeConfig) throws(MenuExit) {
        var draft = start
        var name = name
        while let combination = draft.combination(named: name) {
            let rows = TextLayout.table([
                ("name", name),
                ("raid", combination.raid == .raid1 ? "1 (mirror)" : "0"),
                ("members", combination.members.isEmpty ? "(none)" : combination.members.joined(separator: " ")),
                ("chunk", combination.raid == .raid1 ? "-" : combination.chunk.map(formatSize) ?? "none (joined)"),
            ])
            switch try context.io.choose("Combination \(name)", [
                MenuOption("1", "Name"),
                MenuOption("2", "RAID level"),
                MenuOption("3", "Members"),
                MenuOption("4", "Chunk size (RAID0 striping)"),
                MenuOption("5", "Discard these changes"),
                MenuOption("0", "Done"),
            ], header: rows) {
            case "1":
                try context.renameStorage(&draft, &name, noun: "combination")
            case "2":
                try context.editField(&draft, "RAID level, 0 or 1 (Enter keeps): ", parseRAID) { config, raid in
                    config.combinations.update(named: name) {
                        $0.raid = raid
                        if raid == .raid1 { $0.chunk = nil }  // chunk only means something to RAID0
                    }
                }
            case "3":
                try showChoices(context, draft, excluding: name)
                try editMembers(context, &draft, name: name, keep: "Enter keeps")
            case "4": try editChunk(context, &draft, name: name)
            case "5": return
            default:
                if try context.commit(draft) { return }
            }
        }
    }

    private static func showChoices(_ context: MenuContext, _ config: TargeConfig, excluding name: String) throws(MenuExit) {
        try context.io.say("Devices and combinations:")
        try context.io.say(lines: TextLayout.table(ConfigReferences.storageChoices(in: config, excluding: name)))
    }

    /// Members in layout order; the parser checks that they exist, are not used elsewhere,
    /// form no cycle and that a mirror has two.
    private static func editMembers(_ context: MenuContext, _ draft: inout TargeConfig, name: String,
                                    keep: String) throws(MenuExit) {
        try context.editField(&draft, "Members in order, separated by spaces (\(keep)): ", parseMembers) {
            config, members in
            config.combinations.update(named: name) { $0.members = members }
        }
    }

    private static func editChunk(_ context: MenuContext, _ draft: inout TargeConfig, name: String) throws(MenuExit) {
        try context.editField(&draft, "Chunk size to stripe, e.g. 64KiB, or 'none' to join (Enter keeps): ", { text in
            text.lowercased() == "none" ? .success(nil) : InputParsers.size(text).map { $0 }
        }) { config, chunk in
            config.combinations.update(named: name) { $0.chunk = chunk }
        }
    }

    static func parseRAID(_ text: String) -> Result<RAIDLevel, InputError> {
        switch text.lowercased() {
        case "0", "raid0": .success(.raid0)
        case "1", "raid1": .success(.raid1)
        default: .failure(InputError("Bad RAID level '\(text)': 0 or 1."))
        }
    }

    static func parseMembers(_ text: String) -> Result<[String], InputError> {
        let words = text.split(separator: " ").map(String.init)
        for word in words {
            if case .failure(let error) = InputParsers.word(word, what: "member name") { return .failure(error) }
        }
        return .success(words)
    }

}
