/// The words of a `listen` line: portals, each optionally followed by `advertise ADDR` (more
/// than once for several), the addresses SendTargets reports for that portal instead of the
/// address a connection reached us on. Behind NAT or a port forward (qemu's user network, a
/// router) the local address is one initiators cannot reach:
///
///     listen  0.0.0.0:3260 advertise 127.0.0.1:3260
public struct ListenEntry: Sendable, Equatable {
    public var portal: Portal
    /// Reported in SendTargets for this portal, in order; empty: report the local address.
    public var advertised: [Portal]

    public init(portal: Portal, advertised: [Portal] = []) {
        self.portal = portal
        self.advertised = advertised
    }

    public static let keyword = "advertise"

    /// Parses one line's words (or the menu's input); the error says what is wrong, for the
    /// caller to place (file:line, or the menu's prompt).
    public static func parse(_ words: [String]) -> Result<[ListenEntry], ListenError> {
        var entries: [ListenEntry] = []
        var i = 0
        while i < words.count {
            let word = words[i]
            if word.lowercased() == keyword {
                guard !entries.isEmpty else { return .failure(.advertiseFirst) }
                guard i + 1 < words.count else { return .failure(.advertiseWithoutAddress(entries.last!.portal)) }
                let text = words[i + 1]
                guard let address = Portal.parse(text) else { return .failure(.badAddress(text)) }
                guard !address.isWildcard, address.port != 0 else {
                    return .failure(.unreachableAdvertisement(address, for: entries.last!.portal))
                }
                if !entries[entries.count - 1].advertised.contains(address) {
                    entries[entries.count - 1].advertised.append(address)
                }
                i += 2
                continue
            }
            guard let portal = Portal.parse(word) else { return .failure(.badAddress(word)) }
            entries.append(ListenEntry(portal: portal))
            i += 1
        }
        return .success(entries)
    }

    /// "0.0.0.0:3260 advertise 127.0.0.1:3260 [::]:3260": what `parse` reads.
    public static func format(_ entries: [ListenEntry]) -> String {
        entries.map { entry in
            ([entry.portal.description] + entry.advertised.flatMap { [keyword, $0.description] }).joined(separator: " ")
        }.joined(separator: " ")
    }
}

/// What is wrong with a `listen` value.
public enum ListenError: Error, Equatable, CustomStringConvertible {
    case badAddress(String)
    case advertiseFirst
    case advertiseWithoutAddress(Portal)
    case unreachableAdvertisement(Portal, for: Portal)

    public var description: String {
        switch self {
        case let .badAddress(text):
            "bad listen address '\(text)' (expected ADDRESS[:PORT], IPv6 in brackets: [::]:3260)"
        case .advertiseFirst:
            "'advertise' follows the listen address it belongs to (listen 0.0.0.0:3260 advertise 192.0.2.1:3260)"
        case let .advertiseWithoutAddress(portal):
            "'advertise' after \(portal) needs the address to report"
        case let .unreachableAdvertisement(address, portal):
            "\(portal) cannot advertise \(address): initiators need a concrete address and port, not a wildcard or port 0"
        }
    }
}
