import Config

/// [target NAME] sections, the seeds' "sharing targets": what initiators log in to.
enum TargetsPage {
    static func run(_ context: MenuContext) throws(MenuExit) {
        try RecordList(title: "Sharing targets", noun: "target",
                       items: { $0.targets.map { ($0.name, describe($0)) } },
                       add: add,
                       edit: { context, name throws(MenuExit) in
                           try TargetForm.run(context, name: name, draft: context.session.config)
                       },
                       remove: remove).run(context)
    }

    /// Nothing refers to a target, so removing one only needs a yes.
    private static func remove(_ context: MenuContext, _ name: String) throws(MenuExit) {
        guard try context.io.confirm("Remove target \(name)? Its devices are kept.") else { return }
        if try context.change({ $0.targets.removeAll { $0.name == name } }) {
            try context.io.say("Removed target \(name).")
        }
    }

    /// "iqn...:db, lun 0 mirror, rw".
    static func describe(_ target: TargetConfig) -> String {
        ([target.iqn] + target.luns.map { "lun \($0.lun) \($0.device)" } + [target.access.rawValue])
            .joined(separator: ", ")
    }

    /// The IQN a target gets when the file does not set one (the parser's rule).
    static func derivedIQN(_ name: String, in config: TargeConfig) -> String {
        config.server.nodeBase + ":" + name.lowercased()
    }

    /// Name, IQN and the first LUN are asked for at once, since a target without a LUN is
    /// not valid; everything else is set in the target's form that follows.
    private static func add(_ context: MenuContext) throws(MenuExit) {
        var draft = context.session.config
        guard let name = try context.askNewName("New target name (Enter to cancel): ", what: "target", taken: { name in
            draft.target(named: name) != nil ? "There is already a target '\(name)'." : nil
        }) else { return }
        draft.targets.append(TargetConfig(name: name, iqn: derivedIQN(name, in: draft)))
        try TargetForm.editIQN(context, &draft, name: name)
        try context.io.say("Devices and combinations:")
        try context.io.say(lines: TextLayout.table(ConfigReferences.storageChoices(in: draft)))
        try context.editField(&draft, "Device or combination for LUN 0 (Enter to skip): ",
                              { InputParsers.word($0, what: "device name") }) { config, device in
            config.targets.update(named: name) { $0.luns = [LUNMapping(lun: 0, device: device)] }
        }
        try TargetForm.run(context, name: name, draft: draft)
    }
}
