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

    public static func buildCatalog(_ config: TargeConfig, fileName: String, opener: FileOpener = DirectFileOpener()) throws -> TargetCatalog {
        var opened: [String: BlockDevice] = [:]
        var targets: [ExportedTarget] = []
        do {
            for target in config.targets {
                var units: [UInt64: LogicalUnit] = [:]
                for mapping in target.luns {
                    guard let device = config.devices.first(where: { $0.name == mapping.device }) else {
                        throw BuildError(file: fileName, line: mapping.line,
                                         message: "lun \(mapping.lun): '\(mapping.device)' is not a device (combinations are not supported yet)")
                    }
                    let spec = deviceSpec(device)
                    let backing: BlockDevice
                    do {
                        backing = try DeviceOpener.open(spec, opener: opener)
                    } catch {
                        throw BuildError(file: fileName, line: device.line, message: "device \(device.name): \(error)")
                    }
                    opened[device.name] = backing
                    let identity = LogicalUnitInfo.stableIdentity(targetIQN: target.iqn, deviceName: device.name)
                    let blockSize = spec.blockSize
                    let info = LogicalUnitInfo(lun: UInt64(mapping.lun), blockSize: blockSize,
                                               blockCount: backing.size / UInt64(blockSize),
                                               readOnly: target.access == .readOnly,
                                               writeCache: backing.hasVolatileCache,
                                               serial: identity.serial, naaIdentifier: identity.naa,
                                               targetName: target.iqn)
                    units[UInt64(mapping.lun)] = LogicalUnit(info: info, device: backing)
                }
                let policy = AuthenticationPolicy(
                    incoming: config.incomingUsers(for: target).map(credential),
                    outgoing: config.outgoingUser(for: target).map(credential))
                targets.append(ExportedTarget(name: target.iqn, alias: target.alias, units: units,
                                              allow: target.allow, authentication: policy))
            }
        } catch {
            for device in opened.values { device.close() }
            throw error
        }
        return TargetCatalog(targets: targets)
    }

    static func credential(_ user: CHAPUser) -> CHAPCredential {
        CHAPCredential(name: user.name, secret: user.secret)
    }

    static func deviceSpec(_ device: DeviceConfig) -> DeviceSpec {
        let source: DeviceSpec.Source
        switch device.source {
        case let .path(path): source = .path(path)
        case let .ram(bytes): source = .ram(bytes: bytes)
        }
        return DeviceSpec(name: device.name, source: source, offset: device.offset, size: device.size,
                          create: device.create, blockSize: device.blockSize ?? 512)
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
        offer.headerDigests = c.headerDigest.map(\.rawValue)
        offer.dataDigests = c.dataDigest.map(\.rawValue)
        offer.dataPDUInOrder = c.dataPDUInOrder
        offer.dataSequenceInOrder = c.dataSequenceInOrder
        offer.defaultTime2Wait = UInt32(c.defaultTime2Wait)
        offer.defaultTime2Retain = UInt32(c.defaultTime2Retain)
        offer.errorRecoveryLevel = UInt32(c.errorRecoveryLevel)
        return ServerRuntimeSettings(
            clientRules: config.clients,
            discoveryAuthentication: AuthenticationPolicy(incoming: config.auth.incoming.map(credential),
                                                          outgoing: config.auth.outgoing.map(credential)),
            portals: config.server.listen.map { ($0.host, $0.port) },
            maxSessions: config.server.maxSessions, offer: offer,
            nopInterval: Int64(config.timeouts.nopInterval), nopTimeout: Int64(config.timeouts.nopTimeout),
            loginTimeout: Int64(config.timeouts.loginTimeout))
    }
}
