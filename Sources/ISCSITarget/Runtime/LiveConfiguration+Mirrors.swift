import Logging
import NIOCore
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// RAID1 member changes of a reload (`ReloadPlan.memberSwaps`), made after the commit.
extension LiveConfiguration {
    struct MemberOutcome {
        /// Mirrors whose change failed (the running config keeps their old members).
        var failed: Set<String> = []
        var errors: [String] = []
        /// Mirrors to resync once retired LUs have drained.
        var resync: [RAID1Device] = []
    }

    func applyMemberChanges(_ plan: ReloadPlan, opened: [String: BlockDevice]) -> MemberOutcome {
        var outcome = MemberOutcome()
        for swap in plan.memberSwaps.values.flatMap({ $0 }) {
            guard let mirror = plan.keptMirror(swap.mirror) else { continue }
            do {
                switch (swap.old, swap.new.flatMap { opened[$0] }) {
                case let (old?, device?):
                    guard let index = mirror.memberIndex(named: old) else {
                        throw StorageError.combination(name: swap.mirror, problem: "no member \(old)")
                    }
                    do {
                        let previous = try mirror.replaceMember(index, with: device, on: group.next()).wait()
                        previous.close()  // idle, and off the event loops here
                    } catch {
                        device.close()
                        throw error
                    }
                    outcome.resync.append(mirror)
                case let (nil, device?):
                    do {
                        try mirror.addMember(device, on: group.next()).wait()
                    } catch {
                        device.close()
                        throw error
                    }
                    outcome.resync.append(mirror)
                case let (old?, nil):
                    let device = try mirror.removeMember(named: old, on: group.next()).wait()
                    closeWhenIdle(device, of: mirror)
                case (nil, nil):
                    break
                }
            } catch {
                outcome.failed.insert(swap.mirror)
                outcome.errors.append("combination \(swap.mirror): \(swap.old.map { "member \($0)" } ?? "") \(swap.new.map { "-> \($0)" } ?? "removal") not applied: \(error)")
            }
        }
        return outcome
    }

    /// Closes a removed member once its last request and any resync to it have stopped; a
    /// member still busy after `drainLimit` stays open (closing under I/O could hand its
    /// descriptor number to another file).
    private func closeWhenIdle(_ device: BlockDevice, of mirror: RAID1Device) {
        let deadline = NIODeadline.now() + drainLimit
        while !mirror.isIdle(device) && NIODeadline.now() < deadline { usleep(10_000) }
        if mirror.isIdle(device) {
            device.close()
        } else {
            logger.error("removed member \(device.name) of \(mirror.name) is still busy; it stays open until the service restarts")
        }
    }
}
