import Config

/// Who refers to a device or combination by name. Devices and combinations share one
/// namespace and are referred to from combination members and target LUNs; the menu needs
/// this to refuse removals with a message that names the user, and to carry renames through.
enum ConfigReferences {
    /// "combination 'mirror'", "target 'db' (lun 0)": everything that uses `name`.
    static func users(of name: String, in config: TargeConfig) -> [String] {
        config.combinations.filter { $0.members.contains(name) }.map { "combination '\($0.name)'" }
            + config.targets.flatMap { target in
                target.luns.filter { $0.device == name }.map { "target '\(target.name)' (lun \($0.lun))" }
            }
    }

    /// Whether `name` is taken by a device or a combination (one namespace, as in the file).
    static func storageNameTaken(_ name: String, in config: TargeConfig) -> Bool {
        config.device(named: name) != nil || config.combination(named: name) != nil
    }

    /// Renames a device or combination and every reference to it.
    static func renameStorage(_ old: String, to new: String, in config: inout TargeConfig) {
        for index in config.devices.indices where config.devices[index].name == old {
            config.devices[index].name = new
        }
        for index in config.combinations.indices {
            if config.combinations[index].name == old { config.combinations[index].name = new }
            config.combinations[index].members = config.combinations[index].members.map { $0 == old ? new : $0 }
        }
        for target in config.targets.indices {
            for lun in config.targets[target].luns.indices where config.targets[target].luns[lun].device == old {
                config.targets[target].luns[lun].device = new
            }
        }
    }

    /// Devices and combinations to pick members or LUNs from, with what each one is and
    /// who uses it already, leaving out `excluded` (the combination being edited).
    static func storageChoices(in config: TargeConfig, excluding excluded: String? = nil) -> [(String, String)] {
        let all = config.devices.map { ($0.name, "device: " + DevicesPage.describe($0)) }
            + config.combinations.map { ($0.name, "combination: " + CombinationsPage.describe($0)) }
        return all.filter { $0.0 != excluded }.map { name, what in (name, what + usage(of: name, in: config)) }
    }

    /// " (used by combination 'mirror')", or "" for something nothing uses yet.
    static func usage(of name: String, in config: TargeConfig) -> String {
        let users = users(of: name, in: config)
        return users.isEmpty ? "" : " (used by " + users.joined(separator: ", ") + ")"
    }
}

/// Asks for a new device/combination or target name until it is valid and free.
extension MenuContext {
    func askNewName(_ prompt: String, what: String, taken: (String) -> String?) throws(MenuExit) -> String? {
        let name: String? = try io.ask(prompt) { text in
            if text.isEmpty { return .success(nil) }
            return InputParsers.word(text, what: "name")
                .flatMap { InputParsers.name($0, what: what) }
                .flatMap { name in taken(name).map { .failure(InputError($0)) } ?? .success(name) }
        }
        return name
    }
}

extension MenuContext {
    /// Asks for a new name for the device or combination `name` in `draft` and carries it
    /// into every member list and LUN; Enter keeps the old one.
    func renameStorage(_ draft: inout TargeConfig, _ name: inout String, noun: String) throws(MenuExit) {
        let current = name
        let config = draft
        guard let new = try askNewName("New name (Enter keeps): ", what: noun, taken: { candidate in
            candidate != current && ConfigReferences.storageNameTaken(candidate, in: config)
                ? "'\(candidate)' is already a device or combination." : nil
        }) else { return }
        ConfigReferences.renameStorage(name, to: new, in: &draft)
        name = new
    }
}
