/// The Prometheus text exposition format (version 0.0.4), written once: `# HELP` and
/// `# TYPE` per family, then its samples, label values escaped.
///
/// Why not swift-prometheus' registry: the LU counters live in per-event-loop slabs that are
/// summed when scraped (so the data path takes no lock), and that library renders only the
/// metric objects it owns (its histograms take a lock per observation). Values computed at
/// scrape time need a writer like this one.
public struct Exposition: Sendable {
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    public private(set) var text = ""

    public init(reservingCapacity bytes: Int = 0) {
        text.reserveCapacity(bytes)
    }

    /// Starts a family. Every sample that follows until the next family belongs to it.
    public mutating func family(_ name: String, _ kind: Kind, help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    public mutating func sample(_ name: String, _ labels: Labels, _ value: UInt64) {
        line(name, labels, String(value))
    }

    public mutating func sample(_ name: String, _ labels: Labels, _ value: Int) {
        line(name, labels, String(value))
    }

    public mutating func sample(_ name: String, _ labels: Labels, _ value: Double) {
        line(name, labels, Self.format(value))
    }

    private mutating func line(_ name: String, _ labels: Labels, _ value: String) {
        text.append(name)
        if !labels.rendered.isEmpty {
            text.append("{")
            text.append(labels.rendered)
            text.append("}")
        }
        text.append(" ")
        text.append(value)
        text.append("\n")
    }

    /// A histogram's samples: cumulative buckets (bounds in the family's unit), `+Inf`,
    /// `_sum` and `_count`. `counts` holds one count per bound plus the one above all.
    public mutating func histogram(_ name: String, _ labels: Labels, bounds: [String], counts: [UInt64], sum: Double) {
        precondition(counts.count == bounds.count + 1, "one count per bound, and one above them")
        var cumulative: UInt64 = 0
        let bucket = name + "_bucket"
        for (bound, count) in zip(bounds, counts) {
            cumulative &+= count
            sample(bucket, labels.adding("le", bound), cumulative)
        }
        cumulative &+= counts[bounds.count]
        sample(bucket, labels.adding("le", "+Inf"), cumulative)
        sample(name + "_sum", labels, sum)
        sample(name + "_count", labels, cumulative)
    }

    /// A float as Prometheus reads it: integers without ".0", the rest as Swift prints them
    /// (shortest round-trip form, which Go's ParseFloat accepts).
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escapeHelp(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A sample's labels, in the order given, escaped and rendered once (`name="value",...`):
    /// a page of 64 LUs writes thousands of samples that share their labels.
    public struct Labels: Sendable, ExpressibleByDictionaryLiteral {
        let rendered: String

        public init(_ pairs: [(String, String)]) {
            rendered = pairs.map { "\($0.0)=\"\(Labels.escape($0.1))\"" }.joined(separator: ",")
        }

        public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

        private init(rendered: String) { self.rendered = rendered }

        public static let none = Labels([])

        public func adding(_ name: String, _ value: String) -> Labels {
            let pair = name + "=\"" + Labels.escape(value) + "\""
            return Labels(rendered: rendered.isEmpty ? pair : rendered + "," + pair)
        }

        static func escape(_ value: String) -> String {
            guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") })
            else { return value }
            var out = ""
            for c in value.unicodeScalars {
                switch c {
                case "\\": out += "\\\\"
                case "\"": out += "\\\""
                case "\n": out += "\\n"
                default: out.unicodeScalars.append(c)
                }
            }
            return out
        }
    }
}
