import Config

/// The menu's state: the config being edited and the one last saved (or loaded), so it
/// knows whether leaving would lose anything. Nothing here touches the file.
struct MenuSession {
    let path: String
    /// What the user is editing; becomes the file only through `SaveAction`.
    var config: TargeConfig
    /// What is on disk (or, for a file that does not exist yet, the empty config).
    var saved: TargeConfig
    /// Whether the file on disk has '#' comments, which a save (canonical rendering) drops.
    var fileHasComments = false

    var hasUnsavedChanges: Bool { config != saved }

    /// Applies `change` if it brings in no new config errors; otherwise leaves the config
    /// as it was and returns the parser's messages for the menu to show.
    mutating func apply(_ change: (inout TargeConfig) -> Void) -> [String] {
        var candidate = config
        change(&candidate)
        let problems = ConfigCheck.introduced(before: config, after: candidate)
        if problems.isEmpty { config = candidate }
        return problems
    }
}
