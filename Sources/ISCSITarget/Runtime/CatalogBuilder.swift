import DeviceServer
import Config
import ISCSI
import SCSI
import Storage

/// Turns a validated config into running objects: opened devices, LUs with stable
/// identities, targets, and the server settings.
public enum CatalogBuilder {
    public struct BuildError: Error, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    /// What the caller wants to hear about combinations while they run.
    public struct Hooks: Sendable {
        public var memberFailed: @Sendable (_ combination: String, _ member: String, _ error: Error) -> Void
        public var notice: @Sendable (String) -> Void
        public init(memberFailed: @escaping @Sendable (String, String, Error) -> Void = { _, _, _ in },
                    notice: @escaping @Sendable (String) -> Void = { _ in }) {
            self.memberFailed = memberFailed
            self.notice = notice
        }
    }

    /// Opens every device a target or combination uses, assembles the combinations
    /// (members first), and builds the targets. `stateDirectory` keeps the mirrors' health
    /// and write-intent bitmaps (beside the config file). `aioEngine` serves the devices on
    /// the aio engine (named, or the default for block devices); without one, block devices
    /// without an `engine` line open buffered and `engine aio` is an error.
    public static func buildCatalog(_ config: TargeConfig, fileName: String, opener: FileOpener = DirectFileOpener(),
                                    aioEngine: AIOEngine? = nil,
                                    stateDirectory: String? = nil, hooks: Hooks = Hooks()) throws -> TargetCatalog {
        try buildCatalog(config, in: Environment(fileName: fileName, opener: opener, aioEngine: aioEngine,
                                                 stateDirectory: stateDirectory, hooks: hooks))
    }

    /// The same, with everything `environment` says (the server's meter slots included).
    public static func buildCatalog(_ config: TargeConfig, in environment: Environment) throws -> TargetCatalog {
        let fileName = environment.fileName
        let assembled = try openDevices(roots: config.targets.flatMap { $0.luns.map(\.device) }, of: config, in: environment)
        var targets: [ExportedTarget] = []
        for target in config.targets {
            var units: [UInt64: LogicalUnit] = [:]
            for mapping in target.luns {
                guard let backing = assembled[mapping.device] else {
                    for device in assembled.values { device.close() }
                    throw BuildError(file: fileName, line: mapping.line, message: "lun \(mapping.lun): no device '\(mapping.device)'")
                }
                units[UInt64(mapping.lun)] = makeUnit(mapping, of: target, backing: backing, config: config, in: environment)
            }
            targets.append(makeTarget(target, units: units, config: config))
        }
        return TargetCatalog(targets: targets)
    }

    /// How devices and LUs are made: the same at the start and for a reload's new ones.
    public struct Environment: Sendable {
        public var fileName: String
        public var opener: FileOpener
        public var aioEngine: AIOEngine?
        public var stateDirectory: String?
        public var hooks: Hooks
        /// Which event loop counts in which slab of an LU's metrics.
        public var meterSlots: LoopSlots

        public init(fileName: String, opener: FileOpener = DirectFileOpener(), aioEngine: AIOEngine? = nil,
                    stateDirectory: String? = nil, hooks: Hooks = Hooks(), meterSlots: LoopSlots = .shared) {
            self.meterSlots = meterSlots
            self.fileName = fileName
            self.opener = opener
            self.aioEngine = aioEngine
            self.stateDirectory = stateDirectory
            self.hooks = hooks
        }
    }

    /// Opens the devices and combinations named in `roots` and everything under them
    /// (members first). Returns each of them by name, the members included; a combination
    /// owns its members, so closing the roots closes everything. On error nothing stays open.
    public static func openDevices(roots: [String], of config: TargeConfig, in environment: Environment) throws -> [String: BlockDevice] {
        let used = reachableDeviceNames(from: roots, in: config)
        let shared = sharedDevices(config)
        var opened: [String: BlockDevice] = [:]
        do {
            for device in config.devices where used.contains(device.name) {
                do {
                    opened[device.name] = try DeviceOpener.open(deviceSpec(device, gateway: shared[device.name]), opener: environment.opener,
                                                                aioEngine: environment.aioEngine,
                                                                notice: environment.hooks.notice)
                } catch {
                    throw BuildError(file: environment.fileName, line: device.line, message: "device \(device.name): \(error)")
                }
            }
            let combinations = config.combinations.filter { used.contains($0.name) }
            let specs = combinations.map { c in
                CombinationSpec(name: c.name, level: c.raid == .raid1 ? .raid1 : .raid0, members: c.members, chunk: c.chunk)
            }
            let options = CombinationBuilder.Options(
                stateDirectory: environment.stateDirectory, onMemberFailure: environment.hooks.memberFailed,
                onNotice: environment.hooks.notice, opener: environment.opener)
            do {
                return try CombinationBuilder.buildAll(specs, devices: opened, options: options)
            } catch {
                opened = [:]  // buildAll closed them
                let line = combinations.first.map(\.line) ?? 0
                throw BuildError(file: environment.fileName, line: line, message: "\(error)")
            }
        } catch {
            for device in opened.values { device.close() }
            throw error
        }
    }

    /// The LU that exports `backing` as `mapping` of `target`: its stable identity (from the
    /// target's IQN and the device's name), geometry, and persistent reservation file.
    public static func makeUnit(_ mapping: LUNMapping, of target: TargetConfig, backing: BlockDevice, config: TargeConfig,
                                in environment: Environment) -> LogicalUnit {
        // Every gateway must give the same LU the same identity, whatever it calls the device
        // locally: a shared LU's is derived from the image (pool, namespace and name).
        let sharedImage = target.gateways.isEmpty ? nil : config.device(named: mapping.device).flatMap { device -> String? in
            if case let .rbd(rbd) = device.source { "rbd:" + rbd.path } else { nil }
        }
        let identity = LogicalUnitInfo.stableIdentity(targetIQN: target.iqn, deviceName: sharedImage ?? mapping.device)
        let blockSize = blockSize(of: mapping.device, in: config)
        var info = LogicalUnitInfo(lun: UInt64(mapping.lun), blockSize: blockSize,
                                   blockCount: backing.size / UInt64(blockSize),
                                   readOnly: target.access == .readOnly,
                                   writeCache: backing.hasVolatileCache,
                                   serial: identity.serial, naaIdentifier: identity.naa,
                                   targetName: target.iqn)
        info.thinProvisioned = (backing as? Deallocating)?.canDeallocate ?? false
        let port = targetPort(target, config: config)
        info.targetPortGroup = port.relativePort
        info.relativeTargetPort = port.relativePort
        info.portGroups = target.gateways.enumerated().map { index, gateway in
            let port = TargetPort.gateway(index)  // its ALUA group has the number of its portal group
            return TargetPortGroup(id: port.portalGroupTag, relativePort: port.relativePort, name: gateway.name)
        }
        var reservations: ReservationStateFile?
        // A target with gateways keeps its reservations in the cluster, beside the image.
        if let stateDirectory = environment.stateDirectory, target.gateways.isEmpty {
            let path = ReservationStateFile.path(directory: stateDirectory, target: target.name, lun: UInt64(mapping.lun))
            do {
                reservations = try ReservationStateFile(path: path, owner: identity.serial, opener: environment.opener)
            } catch {
                environment.hooks.notice("persistent reservations of \(target.iqn) lun \(mapping.lun) will not survive a restart: \(error)")
            }
        }
        return LogicalUnit(info: info, device: backing, reservationFile: reservations,
                           sanitizeRate: config.server.sanitizeRate, meterSlots: environment.meterSlots,
                           notice: environment.hooks.notice)
    }

    /// A target as it runs, over LUs made (or kept) by the caller.
    public static func makeTarget(_ target: TargetConfig, units: [UInt64: LogicalUnit], config: TargeConfig) -> ExportedTarget {
        let policy = AuthenticationPolicy(
            incoming: config.incomingUsers(for: target).map(credential),
            outgoing: config.outgoingUser(for: target).map(credential))
        let gateways = target.gateways.enumerated().map { index, gateway in
            GatewayPortal(name: gateway.name, address: gateway.portal.description, port: .gateway(index))
        }
        return ExportedTarget(name: target.iqn, alias: target.alias, units: units,
                              allow: target.allow, authentication: policy,
                              allowsTargetReset: target.targetReset == .allow,
                              port: targetPort(target, config: config), gateways: gateways)
    }

    /// This server's port for `target`: its gateway's, when the target has gateways.
    static func targetPort(_ target: TargetConfig, config: TargeConfig) -> TargetPort {
        guard let index = target.gateways.firstIndex(where: { $0.name == config.server.gatewayName }) else { return .sole }
        return .gateway(index)
    }

    /// The gateway this server is for devices that targets with gateways export (whose RBD
    /// image's lock says which gateway serves), by device name.
    static func sharedDevices(_ config: TargeConfig) -> [String: String] {
        guard let gateway = config.server.gatewayName else { return [:] }
        var shared: [String: String] = [:]
        for target in config.targets where !target.gateways.isEmpty {
            for lun in target.luns { shared[lun.device] = gateway }
        }
        return shared
    }

    /// Devices and combinations reachable from `roots`, through any nesting of combinations.
    static func reachableDeviceNames(from roots: [String], in config: TargeConfig) -> Set<String> {
        var used = Set<String>()
        var pending = roots
        while let name = pending.popLast() {
            guard used.insert(name).inserted else { continue }
            if let combination = config.combination(named: name) { pending += combination.members }
        }
        return used
    }

    /// A device's logical block size; a combination's is the largest of its members'.
    static func blockSize(of name: String, in config: TargeConfig) -> Int {
        if let device = config.device(named: name) { return device.blockSize ?? 512 }
        guard let combination = config.combination(named: name) else { return 512 }
        return combination.members.map { blockSize(of: $0, in: config) }.max() ?? 512
    }

    static func credential(_ user: CHAPUser) -> CHAPCredential {
        CHAPCredential(name: user.name, secret: Array(user.secret.utf8), initiators: user.initiators)
    }

    static func deviceSpec(_ device: DeviceConfig, gateway: String? = nil) -> DeviceSpec {
        let source: DeviceSpec.Source
        switch device.source {
        case let .path(path): source = .path(path)
        case let .ram(bytes): source = .ram(bytes: bytes)
        case let .rbd(rbd):
            source = .rbd(RBDImageSpec(pool: rbd.pool, namespace: rbd.namespace, image: rbd.image, cephConf: rbd.cephConf,
                                       cephID: rbd.cephID, gateway: gateway))
        }
        let engine: DeviceSpec.Engine
        switch device.engine {
        case .aio: engine = .aio
        case .buffered: engine = .buffered
        case nil: engine = .automatic
        }
        return DeviceSpec(name: device.name, source: source, offset: device.offset, size: device.size,
                          create: device.create, blockSize: device.blockSize ?? 512, engine: engine)
    }

    public static func serverSettings(_ config: TargeConfig) -> ServerRuntimeSettings {
        let c = config.connection
        var offer = TargetOffer()
        offer.maxRecvDataSegmentLength = UInt32(c.maxRecvDataSegmentLength)
        offer.maxBurstLength = UInt32(c.maxBurstLength)
        offer.firstBurstLength = UInt32(c.firstBurstLength)
        offer.initialR2T = c.initialR2T
        offer.immediateData = c.immediateData
        offer.maxOutstandingR2T = UInt32(c.maxOutstandingR2T)
        offer.maxConnections = UInt32(c.maxConnections)
        offer.headerDigests = c.headerDigest.compactMap { DigestAlgorithm(rawValue: $0.rawValue) }
        offer.dataDigests = c.dataDigest.compactMap { DigestAlgorithm(rawValue: $0.rawValue) }
        offer.dataPDUInOrder = c.dataPDUInOrder
        offer.dataSequenceInOrder = c.dataSequenceInOrder
        offer.defaultTime2Wait = UInt32(c.defaultTime2Wait)
        offer.defaultTime2Retain = UInt32(c.defaultTime2Retain)
        offer.errorRecoveryLevel = UInt32(c.errorRecoveryLevel)
        var settings = ServerRuntimeSettings(
            clientRules: config.clients,
            discoveryAuthentication: AuthenticationPolicy(incoming: config.auth.incoming.map(credential),
                                                          outgoing: config.auth.outgoing.map(credential)),
            portals: config.server.listenEntries.map {
                ListeningPortal(host: $0.portal.host, port: $0.portal.port, advertised: $0.advertised.map(\.description))
            },
            maxSessions: config.server.maxSessions, offer: offer,
            nopInterval: Int64(config.timeouts.nopInterval), nopTimeout: Int64(config.timeouts.nopTimeout),
            loginTimeout: Int64(config.timeouts.loginTimeout))
        settings.limits = SessionLimits(maxSessions: config.server.maxSessions,
                                        maxDiscoverySessions: config.server.maxDiscoverySessions,
                                        maxConnections: config.server.maxConnections,
                                        maxLoginsPerAddress: config.server.maxLoginsPerAddress)
        return settings
    }
}
