import Config
import DeviceServer
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SCSI
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// The running configuration and how a new one is applied to it without a restart (`targe
/// reload`, SIGHUP). Only the difference is applied (`ConfigDifference`): an LU whose target,
/// LUN and device stay keeps its object, so its reservations, unit attentions, mode pages and
/// running commands are untouched; sessions of targets that stay and still admit their
/// initiator keep running. A reload is all or nothing up to its commit: an invalid file, a
/// device that does not open or a portal that does not bind changes nothing.
public final class LiveConfiguration: Sendable {
    private let server: ISCSIServer
    private let environment: CatalogBuilder.Environment
    let group: EventLoopGroup
    let logger: Logger
    /// Reads and parses the config file again (the caller knows where it is).
    private let load: @Sendable () throws -> TargeConfig
    /// What runs now (read by `targe status` on an event loop: never held for long).
    private let running: NIOLockedValueBox<TargeConfig>
    /// Held for a whole reload, so that two reloads (a signal and the control socket) queue.
    private let reloading = NIOLock()
    /// How long a removed LU's commands may take before its device is closed anyway.
    let drainLimit: TimeAmount
    /// Binds a new portal (after the privilege drop, a port below 1024 needs the helper).
    private let bind: @Sendable (String, Int) throws -> ListeningSocket

    public init(running config: TargeConfig, server: ISCSIServer, environment: CatalogBuilder.Environment,
                group: EventLoopGroup, logger: Logger, drainLimit: TimeAmount = .seconds(30),
                bind: @escaping @Sendable (String, Int) throws -> ListeningSocket = { try ListeningSocket.open(host: $0, port: $1) },
                load: @escaping @Sendable () throws -> TargeConfig) {
        self.bind = bind
        self.running = NIOLockedValueBox(config)
        self.server = server
        self.environment = environment
        self.group = group
        self.logger = logger
        self.drainLimit = drainLimit
        self.load = load
    }

    /// The configuration that runs now.
    public var config: TargeConfig { running.withLockedValue { $0 } }

    /// Reads the file again and applies what changed. Blocking (it opens devices and waits
    /// for event loops): never call it on an event loop.
    public func reload() -> ReloadReport {
        let report = reloading.withLock { reloadLocked() }
        for line in report.render() {
            report.outcome == .refused ? logger.error("\(line)") : logger.notice("\(line)")
        }
        return report
    }

    private func reloadLocked() -> ReloadReport {
        let current = config
        let new: TargeConfig
        do {
            new = try load()
        } catch let errors as ConfigErrors {
            return .refused(errors.errors.map(\.description))
        } catch {
            return .refused(["\(error)"])
        }
        let unsupported = FeatureGate.unsupported(in: new, file: environment.fileName)
        guard unsupported.isEmpty else { return .refused(unsupported.map(\.description)) }
        let difference = ConfigDifference(from: current, to: new)
        let catalog = server.registry.catalog
        let plan = ReloadPlan(difference: difference, running: current, new: new, catalog: catalog,
                              fileName: environment.fileName)
        // A device without `size` may have grown on disk with the file unchanged.
        let (growths, growthRefusals) = plan.growths()
        guard !difference.isEmpty || !growths.isEmpty || !growthRefusals.isEmpty else {
            return ReloadReport(outcome: .unchanged)
        }
        let refusals = plan.refusals() + growthRefusals
        guard refusals.isEmpty else { return .refused(refusals) }

        // Everything that can fail happens before anything changes: portals are bound,
        // devices opened and grown, and undone on failure.
        var sockets: [(socket: ListeningSocket, portal: ListeningPortal)] = []
        for entry in difference.portalsAdded {
            do {
                let socket = try bind(entry.portal.host, entry.portal.port)
                sockets.append((socket, ListeningPortal(host: entry.portal.host, port: entry.portal.port,
                                                        advertised: entry.advertised.map(\.description))))
            } catch {
                for (socket, _) in sockets { socket.close() }
                let line = new.server.portalLines[entry.portal] ?? new.server.lines["listen"] ?? 0
                return .refused(["\(environment.fileName):\(line): \(error)"])
            }
        }
        let opened: [String: BlockDevice]
        do {
            opened = try CatalogBuilder.openDevices(roots: plan.devicesToOpen + plan.swapDevices, of: new, in: environment)
        } catch {
            for (socket, _) in sockets { socket.close() }
            return .refused(["\(error)"])
        }
        // The devices grow last; their LUs report the new capacity only at the commit, so
        // initiators see what they saw until then.
        for growth in growths {
            do {
                try growth.device.grow(to: growth.to, extendFile: growth.extendFile)
            } catch {
                for (socket, _) in sockets { socket.close() }
                for name in plan.devicesToOpen + plan.swapDevices { opened[name]?.close() }  // roots close their members
                let line = new.device(named: growth.device.name)?.line ?? 0
                return .refused(["\(environment.fileName):\(line): \(error)"])
            }
        }
        let newCatalog = plan.buildCatalog(opened: opened) { mapping, target, backing in
            CatalogBuilder.makeUnit(mapping, of: target, backing: backing, config: new, in: environment)
        }

        // Commit: new logins see the new catalog, then every running connection adopts it.
        server.replace(settings: CatalogBuilder.serverSettings(new), catalog: newCatalog)
        let adoptions = tellConnections(newCatalog)
        for unit in plan.unitsToNotify(in: newCatalog) {
            unit.establishUnitAttention(.reportedLUNsDataChanged)
        }
        for growth in growths { growth.unit.grow(toBlocks: growth.to / UInt64(growth.unit.blockSize)) }
        let members = applyMemberChanges(plan, opened: opened)
        var report = ReloadReport(outcome: members.errors.isEmpty ? .applied : .incomplete)
        report.applied = plan.describe(loggedOut: adoptions, failedMirrors: members.failed)
        report.errors += members.errors
        report.applied += growths.map {
            "device \($0.device.name) grown from \($0.from) to \($0.to) bytes (\($0.target) lun \($0.lun) reports CAPACITY DATA HAS CHANGED)"
        }
        for portal in difference.portalsRemoved {
            let asked = server.stopListening(host: portal.host, port: portal.port)
            report.applied.append("stopped listening on \(portal)" + (asked > 0 ? " (\(asked) connection\(asked == 1 ? "" : "s") asked to log out)" : ""))
        }
        if !sockets.isEmpty {
            do {
                for address in try server.listen(adopting: sockets) {
                    report.applied.append("listening on \(address.ipAddress ?? "?"):\(address.port ?? 0)")
                }
            } catch {
                report.outcome = .incomplete
                report.errors.append("a new portal failed after binding: \(error)")
            }
        }
        for portal in difference.advertisedChanged {
            report.applied.append("\(portal) advertises \(new.server.advertised[portal]?.map(\.description).joined(separator: " ") ?? "its own address") in SendTargets")
        }
        for section in difference.settingsChanged {
            report.applied.append("\(section) changed: new sessions use it, running ones keep what they negotiated")
        }
        report.needsRestart = difference.needsRestart.map { "\($0) changed; it applies when the service restarts" }

        // What a restart would change is not taken over, so the next reload still names it;
        // a mirror whose member change failed keeps its running members, so the next reload
        // tries again.
        var kept = new
        kept.server.user = current.server.user
        kept.appliance = current.appliance
        for name in members.failed {
            if let index = kept.combinations.firstIndex(where: { $0.name == name }), let old = current.combination(named: name) {
                kept.combinations[index] = old
            }
        }
        running.withLockedValue { $0 = kept }

        // Retired LUs drain before any copy starts: a device that moved into a mirror must
        // not get an old LU's write after the resync copied its region.
        retire(plan.retiredUnits(in: newCatalog))
        let oldMirrors = Set(catalog.mirrors.map(ObjectIdentifier.init))
        let resync = newCatalog.mirrors.filter { !oldMirrors.contains(ObjectIdentifier($0)) } + members.resync
        MirrorResync.start(resync, on: group, logger: logger)
        return report
    }

    /// Every connection takes the new catalog on its own event loop; returns the count that
    /// were asked to log out, by target IQN.
    private func tellConnections(_ catalog: TargetCatalog) -> [String: Int] {
        let handles = server.registry.connectionHandles
        var loggedOut: [String: Int] = [:]
        for handle in handles {
            guard let adopt = handle.adopt, case let .loggedOut(target) = (try? adopt(catalog).wait()) ?? .unaffected
            else { continue }
            loggedOut[target.lowercased(), default: 0] += 1
        }
        return loggedOut
    }

    /// LUs no longer in the catalog: each is closed once no connection has a command for it
    /// (or after `drainLimit`). A device that moved to another LU stays open.
    private func retire(_ units: [(unit: LogicalUnit, keepDevice: Bool)]) {
        guard !units.isEmpty else { return }
        let deadline = NIODeadline.now() + drainLimit
        for (unit, keepDevice) in units {
            var busy = 0
            repeat {
                busy = server.registry.connectionHandles.compactMap { $0.taskCount?(unit) }
                    .reduce(0) { $0 + ((try? $1.wait()) ?? 0) }
                if busy > 0 { usleep(10_000) }
            } while busy > 0 && NIODeadline.now() < deadline
            guard busy == 0 else {
                // Closing under a running command could hand its descriptor number to
                // another file before the command's I/O is issued: leave it open instead.
                logger.error("a removed LU still has \(busy) commands after \(drainLimit.nanoseconds / 1_000_000_000) s; its device stays open until the service restarts",
                             metadata: ["target": "\(unit.info.targetName)", "lun": "\(unit.info.lun)"])
                continue
            }
            if keepDevice { unit.closeKeepingDevice() } else { unit.close() }
        }
    }
}
