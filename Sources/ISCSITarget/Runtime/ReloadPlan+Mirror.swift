import Config
import DeviceServer
import Storage

/// A RAID1 under an LU that stays may have a failed member replaced by a reload (the new
/// device takes the failed one's slot) or members added at the end; either is copied in the
/// background while I/O goes on. Any other change to a combination under an exported LUN is
/// refused (`refusals`).
extension ReloadPlan {
    /// One member change: `old` replaced by `new`, `new` added (no `old`), or `old`
    /// removed (no `new`).
    struct MemberSwap {
        var mirror: String
        var old: String?
        var new: String?
    }

    /// RAID1 combinations exported directly by a LUN that stays, whose only change is
    /// members renamed in place or added at the end, or members removed (the rest in their
    /// order); level and chunk the same, the members that stay unchanged themselves.
    static func memberSwaps(_ difference: ConfigDifference, running: TargeConfig, new: TargeConfig) -> [String: [MemberSwap]] {
        var swaps: [String: [MemberSwap]] = [:]
        for name in difference.devicesReplaced {
            guard let old = running.combination(named: name), let now = new.combination(named: name),
                  old.raid == .raid1, now.raid == .raid1, old.chunk == now.chunk else { continue }
            if now.members.count < old.members.count {
                // Removals only: what stays keeps its order and is unchanged.
                let staying = old.members.filter(now.members.contains)
                guard staying == now.members, !now.members.contains(where: difference.devicesReplaced.contains) else { continue }
                swaps[name] = old.members.filter { !now.members.contains($0) }.map { MemberSwap(mirror: name, old: $0, new: nil) }
                continue
            }
            var changed: [MemberSwap] = []
            var valid = true
            for (slot, after) in now.members.enumerated() {
                let before = slot < old.members.count ? old.members[slot] : nil
                if before == after {
                    if difference.devicesReplaced.contains(after) { valid = false }
                } else {
                    // The new member must be a device the running mirror does not use.
                    if old.members.contains(after) || new.device(named: after) == nil { valid = false }
                    changed.append(MemberSwap(mirror: name, old: before, new: after))
                }
            }
            if valid && !changed.isEmpty { swaps[name] = changed }
        }
        return swaps
    }

    /// Why a planned swap cannot happen now: the slot's member must have failed (a healthy
    /// one still holds data the others may lack).
    func swapRefusals() -> [String] {
        var refusals: [String] = []
        for (name, swaps) in memberSwaps {
            guard let mirror = keptMirror(name) else { continue }
            let states = mirror.memberStates
            let staying = new.combination(named: name)?.members ?? []
            if swaps.contains(where: { $0.new == nil }),
               !states.contains(where: { staying.contains($0.name) && $0.state == .healthy }) {
                let line = new.combination(named: name)?.lines["members"] ?? new.combination(named: name)?.line ?? 0
                refusals.append("\(location(line)): combination \(name): no healthy member would be left")
            }
            for swap in swaps where swap.new != nil {
                guard let old = swap.old, let state = states.first(where: { $0.name == old })?.state, state != .failed
                else { continue }
                let line = new.combination(named: name)?.lines["members"] ?? new.combination(named: name)?.line ?? 0
                refusals.append("\(location(line)): combination \(name): member \(old) is \(state.rawValue); only a failed member can be replaced while the mirror is exported")
            }
        }
        return refusals
    }

    /// The running mirror `name` under a kept LU.
    func keptMirror(_ name: String) -> RAID1Device? {
        kept.values.lazy.compactMap { $0.device as? RAID1Device }.first { $0.name == name }
    }

    /// The new members to open.
    var swapDevices: [String] { memberSwaps.values.flatMap { $0.compactMap(\.new) } }
}
