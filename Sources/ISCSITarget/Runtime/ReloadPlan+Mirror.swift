import Config
import DeviceServer
import Storage

/// A RAID1 under an LU that stays may have a failed member replaced by a reload: the new
/// member takes the failed one's slot and is copied in the background while I/O goes on.
/// Any other change to a combination under an exported LUN is refused (`refusals`).
extension ReloadPlan {
    struct MemberSwap {
        var mirror: String
        var slot: Int
        var old: String
        var new: String
    }

    /// RAID1 combinations exported directly by a LUN that stays, whose only change is one or
    /// more members renamed in place (level, chunk and member count the same, the members
    /// that stay unchanged themselves).
    static func memberSwaps(_ difference: ConfigDifference, running: TargeConfig, new: TargeConfig) -> [String: [MemberSwap]] {
        var swaps: [String: [MemberSwap]] = [:]
        for name in difference.devicesReplaced {
            guard let old = running.combination(named: name), let now = new.combination(named: name),
                  old.raid == .raid1, now.raid == .raid1, old.chunk == now.chunk, old.members.count == now.members.count
            else { continue }
            var changed: [MemberSwap] = []
            var valid = true
            for (slot, (before, after)) in zip(old.members, now.members).enumerated() {
                if before == after {
                    if difference.devicesReplaced.contains(after) { valid = false }
                } else {
                    // The new member must be a device the running mirror does not use.
                    if old.members.contains(after) || new.device(named: after) == nil { valid = false }
                    changed.append(MemberSwap(mirror: name, slot: slot, old: before, new: after))
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
            for swap in swaps where states.indices.contains(swap.slot) && states[swap.slot].state != .failed {
                let line = new.combination(named: name)?.lines["members"] ?? new.combination(named: name)?.line ?? 0
                refusals.append("\(location(line)): combination \(name): member \(swap.old) is \(states[swap.slot].state.rawValue); only a failed member can be replaced while the mirror is exported")
            }
        }
        return refusals
    }

    /// The running mirror `name` under a kept LU.
    func keptMirror(_ name: String) -> RAID1Device? {
        kept.values.lazy.compactMap { $0.device as? RAID1Device }.first { $0.name == name }
    }

    /// The new members to open.
    var swapDevices: [String] { memberSwaps.values.flatMap { $0.map(\.new) } }
}
