/// Text that came from the network (an InitiatorName, a key a peer sent, a login's failure
/// reason built from its keys) made safe for a log line, `targe status` or the console: control
/// characters, escape sequences and line breaks become visible escapes, so a peer cannot draw
/// fake lines or move the cursor, and the length is bounded.
public enum UntrustedText {
    /// Characters kept as they are: printable ASCII but the backslash (which starts escapes).
    private static func isPlain(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "\\"
    }

    /// `text` with every other character escaped (`\n`, `\x1b`, `\u{202e}`, `\\`) and cut
    /// to `limit` characters of output, marked with "…" when cut.
    public static func escaped(_ text: some StringProtocol, limit: Int = 256) -> String {
        var out = ""
        out.reserveCapacity(min(text.utf8.count, limit) + 8)
        for scalar in text.unicodeScalars {
            let piece: String
            if isPlain(scalar) {
                piece = String(scalar)
            } else {
                switch scalar {
                case "\\": piece = "\\\\"
                case "\n": piece = "\\n"
                case "\r": piece = "\\r"
                case "\t": piece = "\\t"
                default:
                    let hex = String(scalar.value, radix: 16)
                    piece = scalar.value < 0x100 ? "\\x" + (hex.count == 1 ? "0" + hex : hex) : "\\u{\(hex)}"
                }
            }
            if out.count + piece.count > limit {
                out += "…"
                break
            }
            out += piece
        }
        return out
    }
}
