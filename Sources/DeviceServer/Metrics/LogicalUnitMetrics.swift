import NIOCore
import SCSI

/// What an LU counts: commands by class, bytes, latency histograms, errors by sense key and
/// commands in flight. Counted per event loop without locks (`CounterSlab`), summed when
/// read (`snapshot`).
public final class LogicalUnitMetrics: Sendable {
    /// The classes of commands counted apart; latency is kept for the first three.
    public enum CommandClass: Int, Sendable, CaseIterable {
        case read, write, flush, other

        public var name: String {
            switch self {
            case .read: return "read"
            case .write: return "write"
            case .flush: return "flush"
            case .other: return "other"
            }
        }
    }

    /// Upper bounds of the latency buckets, in nanoseconds (100 µs to 10 s; one more bucket
    /// above the last holds everything slower).
    public static let latencyBounds: [UInt64] = [
        100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000,
        50_000_000, 100_000_000, 250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000,
        5_000_000_000, 10_000_000_000,
    ]

    // Slot layout of a slab.
    static let commandSlots = 0            // 4: one per CommandClass
    static let readBytesSlot = 4
    static let writtenBytesSlot = 5
    static let startedSlot = 6             // executions handed to the LU
    static let endedSlot = 7               // ... and ended: the difference is in flight
    static let conflictSlot = 8            // RESERVATION CONFLICT
    static let senseKeySlots = 9           // 16: CHECK CONDITION by sense key
    static let histogramSlots = 25         // 3 histograms of (buckets + 1 for +Inf + 1 for the sum)
    static let histogramWidth = latencyBounds.count + 2
    static let slotCount = histogramSlots + 3 * histogramWidth

    private let slots: LoopSlots
    private let slabs: [CounterSlab]

    public init(slots: LoopSlots = .shared) {
        self.slots = slots
        self.slabs = (0..<slots.slabCount).map { _ in CounterSlab(count: Self.slotCount) }
    }

    /// The LU began executing a command (its data, if any, has arrived).
    @inline(__always)
    public func executionStarted(on loop: EventLoop) {
        slabs[slots.index(of: loop)].add(1, at: Self.startedSlot)
    }

    /// An execution ended, however it ended (aborted ones too).
    @inline(__always)
    public func executionEnded(on loop: EventLoop) {
        slabs[slots.index(of: loop)].add(1, at: Self.endedSlot)
    }

    /// One answered command: its class, the bytes it read or wrote, its latency from arrival
    /// to answer, and how it ended.
    public func record(_ commandClass: CommandClass, bytes: UInt64, latencyNanoseconds: UInt64, status: SCSIStatus,
                       senseKey: SenseKey?, on loop: EventLoop) {
        let slab = slabs[slots.index(of: loop)]
        slab.add(1, at: Self.commandSlots + commandClass.rawValue)
        if bytes > 0 {
            switch commandClass {
            case .read: slab.add(bytes, at: Self.readBytesSlot)
            case .write: slab.add(bytes, at: Self.writtenBytesSlot)
            case .flush, .other: break
            }
        }
        switch status {
        case .good: break
        case .reservationConflict: slab.add(1, at: Self.conflictSlot)
        case .checkCondition: slab.add(1, at: Self.senseKeySlots + Int(senseKey?.rawValue ?? 0))
        }
        guard commandClass != .other else { return }
        let base = Self.histogramSlots + commandClass.rawValue * Self.histogramWidth
        slab.add(1, at: base + Self.bucket(of: latencyNanoseconds))
        slab.add(latencyNanoseconds, at: base + Self.histogramWidth - 1)
    }

    /// The bucket a latency falls in (the last one: slower than every bound).
    static func bucket(of nanoseconds: UInt64) -> Int {
        var low = 0
        var high = latencyBounds.count
        while low < high {
            let mid = (low + high) / 2
            if nanoseconds <= latencyBounds[mid] { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// Every slab summed. The counters are read one by one while others add: a snapshot is
    /// exact per counter, not across counters.
    public func snapshot() -> LogicalUnitCounters {
        var sums = [UInt64](repeating: 0, count: Self.slotCount)
        for slab in slabs {
            for i in 0..<Self.slotCount { sums[i] &+= slab.load(i) }
        }
        return LogicalUnitCounters(slots: sums)
    }
}

/// An LU's counters at one moment, summed over the event loops.
public struct LogicalUnitCounters: Sendable, Equatable {
    public struct Latency: Sendable, Equatable {
        /// Per bucket (not cumulative), `LogicalUnitMetrics.latencyBounds` order, then the
        /// bucket above the last bound.
        public var buckets: [UInt64]
        public var sumNanoseconds: UInt64
        public var count: UInt64 { buckets.reduce(0, &+) }
    }

    /// Answered commands per `CommandClass` (raw value order).
    public var commands: [UInt64]
    public var readBytes: UInt64
    public var writtenBytes: UInt64
    public var inFlight: UInt64
    public var reservationConflicts: UInt64
    /// CHECK CONDITION answers per sense key (index = the key's value).
    public var errorsBySenseKey: [UInt64]
    /// Read, write and flush latency.
    public var latency: [Latency]

    init(slots s: [UInt64]) {
        typealias M = LogicalUnitMetrics
        commands = Array(s[M.commandSlots..<M.commandSlots + 4])
        readBytes = s[M.readBytesSlot]
        writtenBytes = s[M.writtenBytesSlot]
        // Read apart, the two may cross: never below zero.
        let ended = s[M.endedSlot]
        inFlight = s[M.startedSlot] > ended ? s[M.startedSlot] - ended : 0
        reservationConflicts = s[M.conflictSlot]
        errorsBySenseKey = Array(s[M.senseKeySlots..<M.senseKeySlots + 16])
        latency = (0..<3).map { i in
            let base = M.histogramSlots + i * M.histogramWidth
            return Latency(buckets: Array(s[base..<base + M.histogramWidth - 1]), sumNanoseconds: s[base + M.histogramWidth - 1])
        }
    }

    public func commands(_ commandClass: LogicalUnitMetrics.CommandClass) -> UInt64 { commands[commandClass.rawValue] }
}
