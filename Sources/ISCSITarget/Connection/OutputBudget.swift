import NIOCore

/// How much Data-In a connection may have in the making, and whether its peer still reads.
///
/// A read's buffer exists from the moment the LU starts it until its Data-In is queued on the
/// socket, and the queue behind the socket grows while the initiator does not read. Without a
/// bound, an initiator that sends large READs and never reads its socket makes the target
/// allocate without limit. Here:
/// - a command with Data-In starts only while the channel is writable (NIO's write buffer
///   under its high water mark) and while the Data-In already in the making stays under
///   `limit` (one command always may, so a single large READ is never stuck);
/// - a command that may not start waits, in arrival order, and keeps its place in the CmdSN
///   window, so a peer that does not drain sees its window close;
/// - the time since the socket stopped taking data is kept, so the connection can be dropped
///   when its peer has not read for longer than the NOP timeout.
struct OutputBudget<Waiting> {
    /// Data-In bytes (being read or waiting to be queued) above which no further read starts.
    let limit: Int
    /// Data-In bytes of the commands started and not yet handed to the channel.
    private(set) var inFlight = 0
    /// When the channel last became unwritable, while it still is.
    private(set) var stalledSince: NIODeadline?
    private var waiting = CircularBuffer<Waiting>()

    init(limit: Int) {
        self.limit = limit
    }

    /// Whether a command that returns `length` bytes may start now.
    func admits(_ length: Int, writable: Bool) -> Bool {
        writable && (inFlight == 0 || inFlight + length <= limit)
    }

    mutating func started(_ length: Int) { inFlight += length }

    /// Its Data-In was handed to the channel, or it ended without any.
    mutating func finished(_ length: Int) { inFlight = max(0, inFlight - length) }

    mutating func wait(_ item: Waiting) { waiting.append(item) }

    var waitingCount: Int { waiting.count }

    /// The longest-waiting command, when `admits` would let it start (`length` tells its size).
    mutating func next(writable: Bool, length: (Waiting) -> Int) -> Waiting? {
        guard let first = waiting.first, admits(length(first), writable: writable) else { return nil }
        return waiting.removeFirst()
    }

    /// Drops every waiting command (the connection is gone).
    mutating func removeAllWaiting() -> [Waiting] {
        defer { waiting.removeAll() }
        return Array(waiting)
    }

    mutating func writabilityChanged(to writable: Bool, at now: NIODeadline) {
        stalledSince = writable ? nil : (stalledSince ?? now)
    }

    /// The peer has not taken data for longer than `timeout`.
    func isStalled(longerThan timeout: TimeAmount, at now: NIODeadline) -> Bool {
        guard let since = stalledSince else { return false }
        return now - since > timeout
    }
}
