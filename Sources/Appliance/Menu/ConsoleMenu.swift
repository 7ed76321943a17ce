import Config
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The serial console setup menu (SPEC section 8): numbered pages for every part of the
/// config, edited in memory, validated by the Config module, written only on "save", and
/// applied by asking the service control to restart the target.
public final class ConsoleMenu {
    /// How the menu ended, for the caller's exit status.
    public enum Outcome: Equatable, Sendable {
        /// The user quit; `saved` says whether anything was written during the session.
        case quit(saved: Bool)
        /// Input ended (Ctrl-D, closed line); unsaved changes were dropped.
        case endOfInput
        /// The existing file could not be read and the user chose not to start over.
        case unreadableConfig
    }

    private let path: String
    private let terminal: Terminal
    private let service: ServiceControlling
    private let status: StatusSource

    public init(configPath: String, terminal: Terminal, service: ServiceControlling = UnsupportedServiceControl(),
                status: StatusSource = UnsupportedStatusSource()) {
        self.path = configPath
        self.terminal = terminal
        self.service = service
        self.status = status
    }

    public func run() -> Outcome {
        let io = ConsoleIO(terminal)
        var savedOnce = false
        do {
            guard let session = try openSession(io) else { return .unreadableConfig }
            let context = MenuContext(io: io, session: session, service: service, status: status)
            while true {
                if try MainPage.run(context, savedOnce: &savedOnce) { return .quit(saved: savedOnce) }
            }
        } catch {
            // End of input: nothing more can be asked, so unsaved changes cannot be confirmed
            // and are dropped; the file is only ever written by an explicit save.
            terminal.write("\nEnd of input: leaving the menu without saving.\n")
            return .endOfInput
        }
    }

    /// Loads the file, or starts empty when it does not exist. A file with errors is shown
    /// with its line numbers; starting over is offered, since the console may be the only
    /// way to fix the appliance, but nothing is replaced until the user saves.
    private func openSession(_ io: ConsoleIO) throws(MenuExit) -> MenuSession? {
        guard fileExists(path) else {
            try io.say("\(path) does not exist yet; starting from an empty config.")
            try io.say("It is created when you save.")
            return MenuSession(path: path, config: TargeConfig(), saved: TargeConfig())
        }
        do {
            let config = try ConfigParser.load(path: path)
            var session = MenuSession(path: path, config: config, saved: config)
            session.fileHasComments = fileContains(path, UInt8(ascii: "#"))
            return session
        } catch {
            try io.say("\(path) has errors:")
            try io.page(error.errors.map { $0.line > 0 ? "  line \($0.line): \($0.message)" : "  \($0.message)" })
            guard try io.confirm("Start from an empty config? The file is only replaced if you save.") else {
                return nil
            }
            // `saved` differs from `config` in no way the user made, so quitting at once is
            // not "unsaved changes"; the broken file stays as it is.
            return MenuSession(path: path, config: TargeConfig(), saved: TargeConfig())
        }
    }

    /// Whether the file holds `byte` anywhere; a '#' that is not a comment cannot occur in a
    /// valid file, so this is how the menu knows a save would drop the user's comments.
    private func fileContains(_ path: String, _ byte: UInt8) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            if buffer[0..<count].contains(byte) { return true }
        }
    }

    private func fileExists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }
}
