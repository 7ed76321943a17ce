import Dispatch
import NIOCore
import SCSI
import Storage

/// PERSISTENT RESERVE OUT on an LU that several gateways serve: the registrations live in the
/// cluster (`SharedReservations`), so that every gateway checks I/O against the same ones
/// and they survive a failover. A change is read-modify-compare-and-swap: the latest state is
/// read, the command is applied to it under the LU lock, and the result replaces the
/// cluster's only if nobody changed it meanwhile (otherwise the command runs again on the
/// newer state). Every gateway has the new state before the command's status goes out.
extension LogicalUnit {
    /// Attempts before a command that keeps losing the race is refused.
    static let sharedReservationAttempts = 16

    func completeShared(_ cdb: CDB, parameters: [UInt8], context: CommandContext, store: SharedReservations,
                        on loop: EventLoop) -> EventLoopFuture<SCSIAction> {
        let promise = loop.makePromise(of: SCSIAction.self)
        // The cluster calls block: never on the event loop. One command at a time per LU.
        reservationQueue.async { [self] in
            promise.succeed(runShared(cdb, parameters: parameters, context: context, store: store))
        }
        return promise.futureResult
    }

    private func runShared(_ cdb: CDB, parameters: [UInt8], context: CommandContext,
                           store: SharedReservations) -> SCSIAction {
        for _ in 0..<Self.sharedReservationAttempts {
            let latest: (bytes: [UInt8], version: UInt64)
            do {
                latest = try store.load()
            } catch {
                logger.warning("PERSISTENT RESERVE OUT: \(error)")
                return .checkCondition(.notReadyTargetPortUnavailable)
            }
            let (action, changed): (SCSIAction, [UInt8]?) = withGuarded { g in
                if latest.version != g.reservationsVersion, !latest.bytes.isEmpty {
                    try? g.scsi.restorePersistentReservations(latest.bytes)
                }
                g.reservationsVersion = latest.version
                let before = g.scsi.sharedReservationsSnapshot()
                let action = SCSICommandDecoder.complete(cdb, parameters: parameters, lu: g.info, state: &g.scsi,
                                                         context: context)
                g.scsi.persistentReservationsDirty = false
                let after = g.scsi.sharedReservationsSnapshot()
                return (action, after == before ? nil : after)
            }
            guard let changed else { return action }
            do {
                guard let version = try store.publish(changed, replacing: latest.version) else { continue }
                withGuarded { g in g.reservationsVersion = max(g.reservationsVersion, version) }
                return action
            } catch {
                // The change stands here but not in the cluster: the next command reads the
                // cluster's state again.
                withGuarded { g in g.reservationsVersion = 0 }
                logger.warning("PERSISTENT RESERVE OUT not kept in the cluster: \(error)")
                return .checkCondition(.notReadyTargetPortUnavailable)
            }
        }
        logger.warning("PERSISTENT RESERVE OUT lost the race for the shared reservations \(Self.sharedReservationAttempts) times")
        return .checkCondition(.notReadyALUATransition)
    }
}

extension LogicalUnit {
    /// SET TARGET PORT GROUPS on an LU that gateways share: this gateway takes the image over
    /// (fencing its holder) or lets it go, off the event loop, and answers when that is done;
    /// the new states reach every nexus as 2A/06 through the role change.
    func setTargetPortGroups(_ parameters: [UInt8], device: SharedDevice, on loop: EventLoop) -> EventLoopFuture<SCSIAction> {
        let request = withGuarded { g in SetTargetPortGroupsCommand.request(parameters, lu: g.info, view: g.scsi.alua) }
        let active: Bool
        switch request {
        case let .failure(sense): return loop.makeSucceededFuture(.checkCondition(sense))
        case .success(.nothing): return loop.makeSucceededFuture(.good)
        case .success(.takeOver): active = true
        case .success(.letGo): active = false
        }
        let promise = loop.makePromise(of: SCSIAction.self)
        reservationQueue.async { [self] in
            do {
                try device.requestRole(active: active)
                promise.succeed(.good)
            } catch {
                logger.warning("SET TARGET PORT GROUPS: \(error)")
                promise.succeed(.checkCondition(.notReadyTargetPortUnavailable))
            }
        }
        return promise.futureResult
    }
}
