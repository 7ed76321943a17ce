#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's stdin and stdout: the serial console when PID 1 runs the menu, or the
/// user's terminal for `targe menu` on an ordinary host.
public final class StandardTerminal: Terminal {
    public init() {}

    public func write(_ text: String) {
        writeToStandardOutput(text)
    }

    public func readLine() -> String? {
        Swift.readLine(strippingNewline: true)
    }

    /// Turns echo off while the secret is typed (when stdin is a terminal) so a CHAP secret
    /// does not stay on the screen; the newline the user typed is echoed by hand.
    public func readSecretLine() -> String? {
        var saved = termios()
        guard isatty(0) == 1, tcgetattr(0, &saved) == 0 else { return readLine() }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        // TCSADRAIN, not TCSAFLUSH: a secret typed ahead of the prompt (a paste, a script
        // over a serial line) must not be thrown away.
        tcsetattr(0, TCSADRAIN, &quiet)
        defer {
            tcsetattr(0, TCSADRAIN, &saved)
            write("\n")
        }
        return readLine()
    }
}

/// Straight to file descriptor 1: unbuffered, so a prompt shows before the read that
/// follows it, and free of the C `stdout` global that Swift 6 deems unsafe.
private func writeToStandardOutput(_ text: String) {
    let bytes = Array(text.utf8)
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let written = write(1, raw.baseAddress! + offset, raw.count - offset)
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}
