/// Which member of a mirror serves a read: a healthy one not tried yet for this read, the
/// one with the fewest requests in flight, ties broken by locality (the member whose last
/// read ended nearest to this offset, so a sequential stream stays on one disk and its
/// read-ahead), then by member order.
enum MirrorReadBalancer {
    static func choose(among members: [MirrorMemberSet.Member], offset: UInt64, excluding tried: [Int]) -> Int? {
        var best: Int?
        var bestDistance: UInt64 = 0
        for i in members.indices where members[i].state == .healthy && !tried.contains(i) {
            let end = members[i].lastReadEnd
            let distance = end > offset ? end - offset : offset - end
            if let b = best {
                if members[i].inFlight > members[b].inFlight { continue }
                if members[i].inFlight == members[b].inFlight && distance >= bestDistance { continue }
            }
            best = i
            bestDistance = distance
        }
        return best
    }
}
