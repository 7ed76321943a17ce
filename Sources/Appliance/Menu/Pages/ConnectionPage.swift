import Config

/// [connection]: the target's side of login negotiation, under the RFC's key names. Ranges
/// are the parser's (see ConfigParser+Connection.swift); this page only converts the text.
enum ConnectionPage {
    /// How one key is read and shown, in `ConnectionSettings.keys` order.
    struct Key {
        let name: String
        let show: (ConnectionSettings) -> String
        let edit: (String) -> Result<(inout ConnectionSettings) -> Void, InputError>
    }

    /// Computed: closures are not Sendable, so a stored table would be shared mutable state.
    static var keys: [Key] {
        [
        int("MaxRecvDataSegmentLength", \.maxRecvDataSegmentLength),
        int("MaxBurstLength", \.maxBurstLength),
        int("FirstBurstLength", \.firstBurstLength),
        bool("InitialR2T", \.initialR2T),
        bool("ImmediateData", \.immediateData),
        int("MaxOutstandingR2T", \.maxOutstandingR2T),
        int("MaxConnections", \.maxConnections),
        digests("HeaderDigest", \.headerDigest),
        digests("DataDigest", \.dataDigest),
        bool("DataPDUInOrder", \.dataPDUInOrder),
        bool("DataSequenceInOrder", \.dataSequenceInOrder),
        int("DefaultTime2Wait", \.defaultTime2Wait),
        int("DefaultTime2Retain", \.defaultTime2Retain),
        int("ErrorRecoveryLevel", \.errorRecoveryLevel),
        ]
    }

    static func run(_ context: MenuContext) throws(MenuExit) {
        while true {
            let settings = context.session.config.connection
            let width = keys.map(\.name.count).max() ?? 0
            var options = keys.enumerated().map { index, key in
                MenuOption("\(index + 1)", key.name + String(repeating: " ", count: width - key.name.count + 2)
                    + key.show(settings))
            }
            options.append(MenuOption("0", "Back"))
            let choice = try context.io.choose("Connection settings (choose one to change)", options)
            guard let index = Int(choice), index >= 1 else { return }
            let key = keys[index - 1]
            try context.editSetting("\(key.name) (Enter keeps \(key.show(settings))): ", key.edit) { config, apply in
                apply(&config.connection)
            }
        }
    }

    private static func int(_ name: String, _ path: WritableKeyPath<ConnectionSettings, Int> & Sendable) -> Key {
        Key(name: name, show: { "\($0[keyPath: path])" }, edit: { text in
            InputParsers.integer(text).map { value in { $0[keyPath: path] = value } }
        })
    }

    private static func bool(_ name: String, _ path: WritableKeyPath<ConnectionSettings, Bool> & Sendable) -> Key {
        Key(name: name, show: { $0[keyPath: path] ? "Yes" : "No" }, edit: { text in
            InputParsers.yesNo(text).map { value in { $0[keyPath: path] = value } }
        })
    }

    private static func digests(_ name: String, _ path: WritableKeyPath<ConnectionSettings, [Digest]> & Sendable) -> Key {
        Key(name: name, show: { $0[keyPath: path].map(\.rawValue).joined(separator: ",") }, edit: { text in
            InputParsers.digests(text).map { value in { $0[keyPath: path] = value } }
        })
    }
}
