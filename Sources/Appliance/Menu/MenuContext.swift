import Config

/// What every page works with: the console, the session, and the appliance's seams.
final class MenuContext {
    let io: ConsoleIO
    var session: MenuSession
    let service: ServiceControlling
    let status: StatusSource

    init(io: ConsoleIO, session: MenuSession, service: ServiceControlling, status: StatusSource) {
        self.io = io
        self.session = session
        self.service = service
        self.status = status
    }

    /// Asks for one value and applies it to `draft`, asking again until the answer both
    /// parses and brings no new config errors. An empty answer keeps the current value.
    /// `secret` reads without echo where the terminal can.
    func editField<T>(_ draft: inout TargeConfig, _ prompt: String, secret: Bool = false,
                      _ parse: (String) -> Result<T, InputError>, set: (inout TargeConfig, T) -> Void) throws(MenuExit) {
        while true {
            let text = secret ? try io.askSecret(prompt) : try io.ask(prompt)
            if text.isEmpty { return }
            switch parse(text) {
            case .failure(let error):
                try io.say("  " + error.message)
            case .success(let value):
                var candidate = draft
                set(&candidate, value)
                let problems = ConfigCheck.introduced(before: draft, after: candidate)
                if problems.isEmpty {
                    draft = candidate
                    return
                }
                try showProblems(problems)
            }
        }
    }

    /// Like `editField` on the session's config itself, for the pages of single settings.
    func editSetting<T>(_ prompt: String, _ parse: (String) -> Result<T, InputError>,
                        set: (inout TargeConfig, T) -> Void) throws(MenuExit) {
        var draft = session.config
        try editField(&draft, prompt, parse, set: set)
        session.config = draft
    }

    /// Makes a finished draft the session's config, unless it brings in errors.
    func commit(_ draft: TargeConfig) throws(MenuExit) -> Bool {
        let problems = session.apply { $0 = draft }
        if !problems.isEmpty {
            try io.say("Not yet valid:")
            try showProblems(problems)
        }
        return problems.isEmpty
    }

    /// Changes the session's config at once if that brings in no errors (removals, moves).
    @discardableResult
    func change(_ body: (inout TargeConfig) -> Void) throws(MenuExit) -> Bool {
        let problems = session.apply(body)
        try showProblems(problems)
        return problems.isEmpty
    }

    func showProblems(_ problems: [String]) throws(MenuExit) {
        for problem in problems { try io.say("  " + problem) }
    }

    /// The number or the name of one of `names`, or nil for an empty answer (cancel).
    func pick(_ prompt: String, from names: [String]) throws(MenuExit) -> Int? {
        guard !names.isEmpty else {
            try io.say("There is nothing to choose.")
            return nil
        }
        let answer: Int? = try io.ask(prompt + " (number or name, Enter to cancel): ") { text in
            if text.isEmpty { return .success(nil) }
            if let index = names.firstIndex(of: text) { return .success(index) }
            if let number = Int(text), (1...names.count).contains(number) { return .success(number - 1) }
            return .failure(InputError("No '\(text)' here; enter 1-\(names.count) or a name."))
        }
        return answer
    }
}
