import ISCSI
import NIOCore

/// A reload replaced the catalog while this connection runs (see `LiveReconfiguration`).
extension ConnectionHandler {
    /// Takes the new version of the session's target (its LUN map, rules and users), or,
    /// when the target is gone or no longer admits this initiator, asks it to log out and
    /// closes the connection after DefaultTime2Wait. Commands already received keep the LU
    /// they were addressed to and finish.
    func adopt(_ catalog: TargetCatalog) -> CatalogAdoption {
        guard let current = target, let session = machine.session else { return .unaffected }
        if let next = catalog.target(named: current.name),
           next.stillAdmits(initiatorName: session.initiatorName, address: peerAddress,
                            user: session.authenticatedUser, admittedUnder: current.authentication) {
            target = next
            return .kept
        }
        let why = catalog.target(named: current.name) == nil
            ? "the target was removed" : "the target's allow rules or CHAP users no longer admit this initiator"
        let grace = Int64(min(max(parameters.defaultTime2Wait, 2), 60))
        logger.notice("reload: \(why); asking the initiator to log out, closing in \(grace) s")
        // From now on its commands reach no LU (LOGICAL UNIT NOT SUPPORTED): the access it
        // lost must not last until it logs out, and a removed LU must drain.
        target = nil
        requestLogout()
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(grace)) { [self] in
            if isAttached { closeNow(reason: "did not log out after a reload (\(why))") }
        }
        return .loggedOut(target: current.name)
    }
}
