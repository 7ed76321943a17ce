import NIOCore

/// Hands a `ByteBuffer` to a closure that runs once on another thread, leaving no second
/// reference behind: a buffer captured by value stays referenced by the closure's context,
/// so the first write into the worker's copy would copy the whole storage.
///
/// `take()` is called once, by the closure; the queue that carries the closure to its thread
/// orders the hand-over, so no lock is needed.
final class BufferHandover: @unchecked Sendable {
    private var buffer: ByteBuffer?

    init(_ buffer: consuming ByteBuffer) {
        self.buffer = buffer
    }

    func take() -> ByteBuffer {
        guard let buffer = buffer.take() else { preconditionFailure("BufferHandover.take() called twice") }
        return buffer
    }
}
