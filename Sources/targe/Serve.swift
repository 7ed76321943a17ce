import Appliance
import ArgumentParser
import Config
import DeviceServer
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Storage
import ISCSITarget
#if canImport(Glibc)
import Glibc
#endif

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the iSCSI target in the foreground (logs to stderr).")

    @Option(name: .shortAndLong, help: "The config file; without it the embedded default is used.")
    var config: String?

    @Option(help: "Data directory for the embedded default's LUN file.")
    var dataDir: String = "/var/lib/targe"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "Event loop threads (default: one per core).")
    var threads: Int = System.coreCount

    @Option(help: "The control socket `targe status` asks (default: targe.sock beside the config, or in the data directory).")
    var control: String?

    func run() throws {
        // An absolute path from here on: the state files beside it (reservations, mirror
        // health) are opened by the privileged helper, which takes only absolute paths.
        let config = self.config.map(Self.absolute)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "targe")

        let fileName: String
        let parsed: TargeConfig
        do {
            if let config {
                fileName = config
                parsed = try ConfigParser.load(path: config)
            } else {
                fileName = "<embedded default>"
                if mkdir(dataDir, 0o755) != 0 && errno != EEXIST {
                    writeStderr("cannot create data directory \(dataDir): \(String(cString: strerror(errno)))\n")
                    throw ExitCode(1)
                }
                parsed = try ConfigParser.parse(EmbeddedDefault.text(dataDirectory: dataDir), fileName: fileName)
            }
        } catch let errors as ConfigErrors {
            printErrors(errors.errors)
            throw ExitCode(1)
        }
        let unsupported = FeatureGate.unsupported(in: parsed, file: fileName)
        guard unsupported.isEmpty else {
            printErrors(unsupported)
            throw ExitCode(1)
        }

        // Signals are taken synchronously by this thread; block them before any other
        // thread exists so that the event loops and pool threads inherit the mask.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        signal(SIGPIPE, SIG_IGN)

        // Everything that needs root happens before the first thread starts (capability
        // sets are per thread; threads started later inherit the empty sets): the
        // privileged opener is forked, the portals are bound, privileges go, and only then
        // are devices opened (through the opener) and the event loops started.
        // Mirror state (health, write-intent bitmaps) lives beside the config file.
        let stateDirectory = configStateDirectory(config: config, dataDir: dataDir)
        var dropTo: PrivilegeDrop.Identity?
        if let user = parsed.server.user {
            if getuid() == 0 {
                do {
                    dropTo = try PrivilegeDrop.resolve(user)
                } catch {
                    writeStderr("\(fileName): [server] user: \(error)\n")
                    throw ExitCode(1)
                }
            } else {
                logger.notice("not running as root (uid \(getuid())): [server] user \(user) needs no privilege drop")
            }
        }
        var opener: FileOpener = DirectFileOpener()
        if dropTo != nil {
            // The helper re-reads the config for every request, so that it opens only what
            // the file on disk names now; with the embedded default it keeps the devices of
            // this start.
            let configPath = config
            let initial = OpenPolicy(config: parsed, stateDirectory: stateDirectory)
            do {
                opener = try PrivilegedOpener.spawn(configPath: config, policy: {
                    guard let configPath, let current = try? ConfigParser.load(path: configPath) else { return initial }
                    return OpenPolicy(config: current, stateDirectory: stateDirectory)
                })
            } catch {
                writeStderr("\(error)\n")
                throw ExitCode(1)
            }
        }
        var sockets: [ListeningSocket] = []
        do {
            for portal in parsed.server.listen {
                sockets.append(try ListeningSocket.open(host: portal.host, port: portal.port))
            }
        } catch {
            writeStderr("\(error)\n")
            throw ExitCode(1)
        }
        let metricsSocket: ListeningSocket?
        do {
            metricsSocket = try parsed.server.metrics.map { try ListeningSocket.open(host: $0.host, port: $0.port, backlog: 16) }
        } catch {
            writeStderr("\(fileName):\(parsed.server.lines["metrics"] ?? 0): [server] metrics: \(error)\n")
            throw ExitCode(1)
        }
        // The control socket is made by the starting user (mode 0600) before the drop.
        let controlPath = control ?? ControlSocket.defaultPath(stateDirectory: stateDirectory)
        // Without it the target still serves; only `targe status` cannot reach it.
        var controlSocket: ControlSocket?
        do {
            controlSocket = try ControlSocket.open(path: controlPath)
        } catch {
            logger.warning("no control socket, `targe status` will not answer: \(error)")
        }
        if let identity = dropTo {
            do {
                try PrivilegeDrop.drop(to: identity)
                logger.notice("dropped privileges", metadata: ["user": "\(identity.name)", "uid": "\(identity.uid)"])
            } catch {
                writeStderr("\(fileName): [server] user: \(error)\n")
                throw ExitCode(1)
            }
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let loops = Array(group.makeIterator())
        // The aio engine starts no thread: its contexts are made by the event loops on first use.
        let aioEngine = AIOEngine()
        let catalog: TargetCatalog
        let raidLogger = logger
        let environment = CatalogBuilder.Environment(
            fileName: fileName, opener: opener, aioEngine: aioEngine, stateDirectory: stateDirectory,
            hooks: .init(memberFailed: { combination, member, error in
                raidLogger.error("member failed; the combination keeps serving from the others",
                                 metadata: ["combination": "\(combination)", "member": "\(member)", "error": "\(error)"])
            }, notice: { raidLogger.notice("\($0)") }), meterSlots: LoopSlots(loops: loops))
        do {
            catalog = try CatalogBuilder.buildCatalog(parsed, in: environment)
        } catch {
            writeStderr("\(error)\n")
            throw ExitCode(1)
        }
        MallocTuning.apply()
        let openFiles = FileLimit.raiseToHard()
        logger.debug("open file limit \(openFiles)")
        let server = ISCSIServer(settings: CatalogBuilder.serverSettings(parsed), catalog: catalog, group: group, logger: logger)
        let bound: [SocketAddress]
        do {
            // Each socket with the portal the config names, so that a reload removing that
            // line finds it (port 0 included).
            let portals = CatalogBuilder.serverSettings(parsed).portals
            bound = try server.listen(adopting: Array(zip(sockets, portals)).map { (socket: $0.0, portal: Optional($0.1)) })
        } catch {
            writeStderr("cannot listen: \(error)\n")
            catalog.closeDevices()
            throw ExitCode(1)
        }
        let portals = bound.map(Self.portalText)
        // The embedded default is parsed again on reload (it is the same, unless the data
        // directory's file changed); a file is read from disk.
        let dataDirectory = dataDir
        let live = LiveConfiguration(running: parsed, server: server, environment: environment, group: group,
                                     logger: logger, bind: { [opener] host, port in
            do throws(ListeningSocket.Failure) {
                return try ListeningSocket.open(host: host, port: port)
            } catch {
                // After the privilege drop a port below 1024 is the helper's to bind.
                guard case let .call("bind", _, _, code) = error, code == EACCES,
                      let privileged = opener as? PrivilegedOpener else { throw error }
                switch privileged.bindPortal(host: host, port: port) {
                case let .success(fd): return ListeningSocket(descriptor: fd, host: host, port: port)
                case let .failure(failure):
                    throw ListeningSocket.Failure.call("bind (through the privileged helper)", host, port, errno: failure.code)
                }
            }
        }) { [config, opener] in
            // After the privilege drop the file (root's, 0600) is opened by the helper.
            if let config, let privileged = opener as? PrivilegedOpener {
                switch privileged.openConfig() {
                case let .success(fd): return try ConfigParser.load(path: config, descriptor: fd)
                case let .failure(failure):
                    throw ConfigErrors([ConfigError(file: config, line: 0,
                                                    message: "cannot open: \(String(cString: strerror(failure.code)))")])
                }
            }
            if let config { return try ConfigParser.load(path: config) }
            return try ConfigParser.parse(EmbeddedDefault.text(dataDirectory: dataDirectory), fileName: "<embedded default>")
        }
        let pid = getpid()
        let registry = server.registry
        // Current IOPS and MB/s per LU for `targe status` and the console's status page.
        let rates = RateSampler()
        rates.start(on: group.next()) { registry.catalog.targets.flatMap { Array($0.units.values) } }
        var controlChannel: Channel?
        if let controlSocket {
            do {
                controlChannel = try controlSocket.serve(on: group, status: { json in
                    let report = StatusReport.capture(pid: pid, portals: server.boundAddresses.map(Self.portalText),
                                                      catalog: registry.catalog, registry: registry,
                                                      sources: Self.deviceSources(live.config), rates: rates)
                    return json ? [report.json().text] : report.render()
                }, reload: { live.reload().render() })
            } catch {
                logger.warning("control socket \(controlPath): \(error)")
            }
        }
        let stopping = NIOLockedValueBox(false)
        var metricsChannel: Channel?
        if let metricsSocket {
            metricsChannel = Self.serveMetrics(on: metricsSocket, group: group, loops: loops, server: server,
                                               stopping: stopping, logger: logger)
        }
        MirrorResync.start(catalog.mirrors, on: group, logger: logger)
        for target in catalog.targets {
            logger.info("target ready", metadata: ["target": "\(target.name)", "luns": "\(target.lunList)"])
        }
        for portal in portals {
            print("listening on \(portal)")
        }
        fflush(nil)

        var received: Int32 = 0
        while true {
            sigwait(&signals, &received)
            guard received == SIGHUP else { break }
            logger.notice("SIGHUP: reloading \(fileName)")
            _ = live.reload()
        }
        logger.notice("signal \(received): logging sessions out and shutting down")
        stopping.withLockedValue { $0 = true }
        if let controlChannel {
            try? controlChannel.close().wait()
            unlink(controlPath)
        }  // may fail after a privilege drop; the next start replaces it
        server.shutdown()
        rates.stop()
        try? metricsChannel?.close().wait()
        // Everything acknowledged must be on stable storage before we exit.
        let loop = group.next()
        let finalCatalog = registry.catalog
        for target in finalCatalog.targets {
            for unit in target.units.values {
                do {
                    try unit.device.flush(on: loop).wait()
                } catch {
                    logger.error("flush failed: \(error)", metadata: ["device": "\(unit.device.name)"])
                }
            }
        }
        finalCatalog.closeDevices()
        aioEngine.shutdown()
        try? group.syncShutdownGracefully()
        logger.notice("stopped")
    }

    static func portalText(_ address: SocketAddress) -> String {
        let host = address.ipAddress ?? "?"
        return (host.contains(":") ? "[\(host)]" : host) + ":\(address.port ?? 0)"
    }

    /// Device name -> path, for `targe status`.
    static func deviceSources(_ config: TargeConfig) -> [String: String] {
        Dictionary(config.devices.map { device -> (String, String) in
            switch device.source {
            case let .path(path): return (device.name, path)
            case .ram: return (device.name, "")
            case let .rbd(rbd): return (device.name, "rbd:\(rbd.path)")
            }
        }, uniquingKeysWith: { a, _ in a })
    }

    /// `path` made absolute against the working directory.
    static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/"), let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        let base = String(cString: cwd)
        return (base.hasSuffix("/") ? base : base + "/") + (path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
    }
}
