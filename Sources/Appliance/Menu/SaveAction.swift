import Config

/// "Save and apply": validate the whole config with the Config module, write it atomically
/// with its writer, then ask the running target to reload it: only what changed is applied,
/// and sessions the change does not concern keep running. A restart stays a separate choice
/// on the Service page.
enum SaveAction {
    /// True when the file was written.
    static func run(_ context: MenuContext) throws(MenuExit) -> Bool {
        let io = context.io
        let path = context.session.path
        let text = ConfigWriter.render(context.session.config)
        let errors = ConfigCheck.errors(in: context.session.config, fileName: path)
        guard errors.isEmpty else {
            // Line numbers refer to the text that would have been written; the line itself
            // is shown too, since that text is not on disk for the user to look at.
            let fileLines = text.split(separator: "\n", omittingEmptySubsequences: false)
            var report = ["Not saved: the config has \(errors.count) error\(errors.count == 1 ? "" : "s"):"]
            for error in errors {
                report.append("  line \(error.line): \(error.message)")
                if error.line > 0 && error.line <= fileLines.count {
                    report.append("    > " + CHAPEditor.maskingSecret(String(fileLines[error.line - 1])))
                }
            }
            report.append("Nothing was written to \(path).")
            try io.page(report)
            try io.pause()
            return false
        }
        // The writer produces the canonical form; a hand-written file's comments would go.
        if context.session.fileHasComments {
            try io.say("\(path) has comments; saving rewrites it in the standard layout without them.")
            guard try io.confirm("Save anyway?") else { return false }
        }
        do throws(ConfigFileError) {
            try ConfigWriter.writeAtomically(text, to: path)
        } catch {
            try io.say("Not saved: \(error)")
            try io.pause()
            return false
        }
        context.session.saved = context.session.config
        context.session.fileHasComments = false
        try io.say("Saved \(path).")
        // Not a save error: the file is written, but `targe serve` will refuse what it does
        // not support yet, and the user should hear that now rather than at the next boot.
        for error in FeatureGate.unsupported(in: context.session.config, file: path) {
            try io.say("  Note: line \(error.line): \(error.message)")
        }
        let reply: Result<[String], StatusUnavailable>
        do throws(StatusUnavailable) {
            reply = .success(try context.status.reload())
        } catch {
            reply = .failure(error)
        }
        switch reply {
        case let .success(lines):
            try io.page(lines)
        case let .failure(error):
            try io.say("Not applied now: \(error.message).")
            try io.say("The service uses the new config when it starts or restarts (Service page).")
        }
        try io.pause()
        return true
    }
}
