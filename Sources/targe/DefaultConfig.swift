import ArgumentParser

/// The config `targe serve` uses when given none: one sparse 1 GiB file LUN, created on
/// first run in the data directory, on 127.0.0.1:3260 — enough to try Targe at once.
enum EmbeddedDefault {
    static func text(dataDirectory: String) -> String {
        """
        # Targe's embedded default configuration (targe default-config prints it).
        [server]
        node-base  iqn.2026-11.org.targe
        listen     127.0.0.1:3260

        [device disk0]
        path    \(dataDirectory)/disk0.img
        size    1GiB
        create  yes
        engine  buffered

        [target disk0]
        lun     0 disk0

        """
    }
}

struct DefaultConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "default-config", abstract: "Print the embedded default configuration.")

    @Option(help: "Directory for the default LUN's backing file.")
    var dataDir: String = "/var/lib/targe"

    func run() throws {
        print(EmbeddedDefault.text(dataDirectory: dataDir), terminator: "")
    }
}
