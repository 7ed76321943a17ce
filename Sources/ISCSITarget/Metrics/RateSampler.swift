import DeviceServer
import NIOConcurrencyHelpers
import NIOCore

/// Current IOPS and bytes per second of each LU, for `targe status` and the console's status
/// page: every second the LUs' counters are read (a few loads per LU, on an event loop) and
/// the rates over the last interval kept.
public final class RateSampler: Sendable {
    /// An LU's rates over the last interval.
    public struct Rates: Sendable, Equatable {
        public var readIOPS: Double = 0
        public var writeIOPS: Double = 0
        public var readBytesPerSecond: Double = 0
        public var writeBytesPerSecond: Double = 0

        public init(readIOPS: Double = 0, writeIOPS: Double = 0, readBytesPerSecond: Double = 0,
                    writeBytesPerSecond: Double = 0) {
            self.readIOPS = readIOPS
            self.writeIOPS = writeIOPS
            self.readBytesPerSecond = readBytesPerSecond
            self.writeBytesPerSecond = writeBytesPerSecond
        }
    }

    struct Sample {
        var at: NIODeadline
        var reads: UInt64
        var writes: UInt64
        var readBytes: UInt64
        var writtenBytes: UInt64
    }

    struct State {
        var last: [ObjectIdentifier: Sample] = [:]
        var rates: [ObjectIdentifier: Rates] = [:]
        var task: RepeatedTask?
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Samples `units()` every `interval` on `loop` until `stop`.
    public func start(on loop: EventLoop, every interval: TimeAmount = .seconds(1),
                      units: @escaping @Sendable () -> [LogicalUnit]) {
        let task = loop.scheduleRepeatedTask(initialDelay: .zero, delay: interval) { [self] _ in
            sample(units(), at: .now())
        }
        state.withLockedValue { $0.task = task }
    }

    public func stop() {
        state.withLockedValue { $0.task?.cancel() }
    }

    /// Takes one sample of `units` at `now`: the rates are the differences with the previous
    /// sample of each LU. LUs no longer given are forgotten.
    func sample(_ units: [LogicalUnit], at now: NIODeadline) {
        let samples = units.map { unit -> (ObjectIdentifier, Sample) in
            let c = unit.metrics.snapshot()
            return (ObjectIdentifier(unit), Sample(at: now, reads: c.commands(.read), writes: c.commands(.write),
                                                   readBytes: c.readBytes, writtenBytes: c.writtenBytes))
        }
        state.withLockedValue { s in
            var last: [ObjectIdentifier: Sample] = [:]
            var rates: [ObjectIdentifier: Rates] = [:]
            for (id, new) in samples {
                last[id] = new
                guard let old = s.last[id] else { continue }
                let seconds = Double((new.at - old.at).nanoseconds) / 1e9
                guard seconds > 0 else { continue }
                func rate(_ a: UInt64, _ b: UInt64) -> Double { b >= a ? Double(b - a) / seconds : 0 }
                rates[id] = Rates(readIOPS: rate(old.reads, new.reads), writeIOPS: rate(old.writes, new.writes),
                                  readBytesPerSecond: rate(old.readBytes, new.readBytes),
                                  writeBytesPerSecond: rate(old.writtenBytes, new.writtenBytes))
            }
            s.last = last
            s.rates = rates
        }
    }

    /// The rates of `unit` over the last interval (zero until two samples were taken).
    public func rates(of unit: LogicalUnit) -> Rates {
        state.withLockedValue { $0.rates[ObjectIdentifier(unit)] } ?? Rates()
    }
}
