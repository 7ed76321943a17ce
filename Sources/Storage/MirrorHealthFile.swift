import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// The member health file of a RAID1: which members were healthy, failed or being resynced
/// when the state last changed, so a restart knows which members are stale.
///
/// Format, version 1: two slots of 8192 bytes (at offsets 0 and 8192); each save writes the
/// slot `sequence mod 2` with one pwrite and fdatasyncs it, so a torn write spoils at most the
/// slot being written and the other still holds the previous state. A slot is UTF-8 text,
/// zero-padded to 8192 bytes:
///
///     targe-mirror-health 1
///     sequence 12
///     member disk1 healthy 0
///     member disk2 failed 3 device disk2: read of 4096 bytes at offset 0 failed: …
///     end 9f3a2c1b0d4e5f60
///
/// `member NAME STATE ORDER REASON…`: STATE is healthy, failed or resyncing (the last two
/// both mean "stale: copy the dirty regions onto it before reading from it"); ORDER counts
/// failures across the mirror's life (the member that failed last has the newest data when
/// every member failed); REASON runs to the end of the line. `end` carries the FNV-1a 64 hash
/// (16 hex digits) of every byte before the `end` line. The valid slot with the highest
/// sequence wins; with no valid slot the file counts as missing.
final class MirrorHealthFile: @unchecked Sendable {
    static let slotSize = 8192
    static let header = "targe-mirror-health 1"
    static let reasonLimit = 160

    struct Record: Equatable, Sendable {
        var name: String
        var state: MemberStatus.State
        var order: UInt64
        var reason: String
    }

    let path: String
    /// What the file held when opened (nil: missing, empty or unreadable).
    let loaded: [Record]?
    private let file: TwoSlotFile

    init(path: String, opener: FileOpener = DirectFileOpener()) throws(StorageError) {
        self.path = path
        let (file, newest) = try TwoSlotFile.open(path, slotSize: Self.slotSize, opener: opener) { Self.parse($0) }
        self.file = file
        self.loaded = newest
    }


    static func parse(_ slot: ArraySlice<UInt8>) -> (UInt64, [Record])? {
        let text = slot.prefix { $0 != 0 }
        guard let endLine = text.lastRange(of: Array("\nend ".utf8)) else { return nil }
        let body = text[text.startIndex...endLine.lowerBound]  // up to and with the newline
        let tail = String(decoding: text[endLine.upperBound...], as: UTF8.self).trimmingNewlines()
        guard let hash = UInt64(tail, radix: 16), hash == StateFileIO.fnv1a(body) else { return nil }
        let lines = String(decoding: body, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.first == Substring(header), lines.count >= 2 else { return nil }
        let seqWords = lines[1].split(separator: " ")
        guard seqWords.count == 2, seqWords[0] == "sequence", let seq = UInt64(seqWords[1]) else { return nil }
        var records: [Record] = []
        for line in lines.dropFirst(2) {
            let words = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: false)
            guard words.count >= 4, words[0] == "member", let state = MemberStatus.State(rawValue: String(words[2])),
                  let order = UInt64(words[3]) else { return nil }
            records.append(Record(name: String(words[1]), state: state, order: order,
                                  reason: words.count > 4 ? String(words[4]) : ""))
        }
        return (seq, records)
    }

    static func render(_ records: [Record], sequence: UInt64) -> [UInt8] {
        func text(reasonLimit: Int) -> [UInt8] {
            var s = header + "\nsequence \(sequence)\n"
            for r in records {
                var reason = String(r.reason.map { $0.isNewline ? " " : $0 })
                if reason.utf8.count > reasonLimit {
                    reason = String(decoding: reason.utf8.prefix(reasonLimit), as: UTF8.self)
                }
                s += "member \(r.name) \(r.state.rawValue) \(r.order) \(reason)\n"
            }
            var bytes = Array(s.utf8)
            bytes += Array("end \(String(StateFileIO.fnv1a(bytes), radix: 16))\n".utf8)
            return bytes
        }
        var bytes = text(reasonLimit: reasonLimit)
        if bytes.count > slotSize { bytes = text(reasonLimit: 0) }
        precondition(bytes.count <= slotSize, "too many mirror members for one health slot")
        bytes += [UInt8](repeating: 0, count: slotSize - bytes.count)
        return bytes
    }

    /// Whether `records` fit in a slot (checked when the mirror is built).
    static func fits(_ records: [Record]) -> Bool {
        var s = header + "\nsequence \(UInt64.max)\nend 0123456789abcdef\n"
        for r in records { s += "member \(r.name) resyncing \(UInt64.max) \n" }
        return s.utf8.count <= slotSize
    }

    /// Writes the next slot on the file's own thread; saves run in call order.
    func save(_ records: [Record], on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        file.save(on: eventLoop) { Self.render(records, sequence: $0) }
    }

    /// Blocking save (open and close time only).
    func saveNow(_ records: [Record]) throws(StorageError) {
        try file.saveNow { Self.render(records, sequence: $0) }
    }

    /// Finishes queued saves, writes `final` when given (blocking), and closes the file.
    func close(saving final: [Record]? = nil) {
        file.close(then: final.map { records in { [self] in try? saveNow(records) } })
    }
}

private extension String {
    func trimmingNewlines() -> String {
        var s = Substring(self)
        while s.last?.isNewline == true { s.removeLast() }
        return String(s)
    }
}

private extension ArraySlice where Element == UInt8 {
    func lastRange(of needle: [UInt8]) -> Range<Int>? {
        guard count >= needle.count else { return nil }
        var i = endIndex - needle.count
        while i >= startIndex {
            if self[i..<(i + needle.count)].elementsEqual(needle) { return i..<(i + needle.count) }
            i -= 1
        }
        return nil
    }
}
