import Atomics
import NIOCore

/// RAID0 over member devices: concatenation or striping. No metadata anywhere: the layout
/// is a pure function of the member order, the member sizes and the chunk size, so the same
/// config gives the same LBA layout after a reboot.
///
/// - Concatenation (`chunk` nil): the members follow each other in config order; the size is
///   the sum of the member sizes.
/// - Striping (`chunk` set): chunk k of the combination lives on member k mod n at member
///   offset (k div n) * chunk. Every member contributes the same number of whole chunks, so
///   the size is n * (the smallest member rounded down to a multiple of the chunk); what lies
///   beyond that on bigger members is not used.
///
/// A request is cut at member and chunk boundaries. Under striping the chunks of one request
/// that land on one member are contiguous there (chunk k and k + n are neighbours on member
/// k mod n), so every member gets at most one sub-request per request; they run concurrently.
/// Reads that touch one member return that member's buffer untouched; others are assembled
/// into one buffer with one copy. Writes hand each member slices of the caller's buffers.
///
/// The combination owns its members: `close()` closes them.
public final class RAID0Device: BlockDevice, @unchecked Sendable {
    public enum Layout: Sendable, Equatable {
        case concatenation
        case stripe(chunk: UInt64)
    }

    public let name: String
    public let size: UInt64
    public let layout: Layout
    public let members: [BlockDevice]
    public let hasVolatileCache: Bool

    /// Concatenation: where each member starts in the combination (plus the total at the end).
    private let starts: [UInt64]
    private let isClosed = ManagedAtomic<Bool>(false)
    private let allocator = ByteBufferAllocator()

    /// One piece of a request on one member, in combination order.
    struct Piece: Equatable {
        var member: Int
        var memberOffset: UInt64
        var length: Int
    }

    public init(name: String, members: [BlockDevice], chunk: UInt64?) throws(StorageError) {
        guard !members.isEmpty else { throw .combination(name: name, problem: "raid 0 needs at least one member") }
        self.name = name
        self.members = members
        self.hasVolatileCache = members.contains { $0.hasVolatileCache }
        if let chunk {
            guard chunk > 0 else { throw .combination(name: name, problem: "chunk size must not be 0") }
            let smallest = members.map(\.size).min()!
            let perMember = smallest / chunk * chunk
            guard perMember > 0 else {
                let small = members.first { $0.size == smallest }!
                throw .combination(name: name, problem: "member \(small.name) (\(smallest) bytes) is smaller than one chunk (\(chunk) bytes)")
            }
            let (total, overflow) = perMember.multipliedReportingOverflow(by: UInt64(members.count))
            guard !overflow else { throw .combination(name: name, problem: "size overflows") }
            self.layout = .stripe(chunk: chunk)
            self.size = total
            self.starts = []
        } else {
            var starts: [UInt64] = [0]
            for member in members {
                let (next, overflow) = starts.last!.addingReportingOverflow(member.size)
                guard !overflow else { throw .combination(name: name, problem: "size overflows") }
                starts.append(next)
            }
            self.layout = .concatenation
            self.size = starts.last!
            self.starts = starts
        }
    }

    deinit { close() }

    public func close() {
        if isClosed.exchange(true, ordering: .acquiring) == false {
            for member in members { member.close() }
        }
    }

    private func check(_ offset: UInt64, _ length: Int) -> StorageError? {
        if isClosed.load(ordering: .relaxed) { return .closed(device: name) }
        if offset > size || UInt64(length) > size - offset {
            return .outOfRange(device: name, offset: offset, length: length, size: size)
        }
        return nil
    }

    /// Where the member of a combination offset lives (offset < size).
    func locate(_ offset: UInt64) -> (member: Int, memberOffset: UInt64, contiguous: UInt64) {
        switch layout {
        case let .stripe(chunk):
            let k = offset / chunk
            let n = UInt64(members.count)
            let within = offset % chunk
            return (Int(k % n), (k / n) * chunk + within, chunk - within)
        case .concatenation:
            // Last member whose start is <= offset (empty members are skipped over).
            var low = 0, high = members.count - 1
            while low < high {
                let mid = (low + high + 1) / 2
                if starts[mid] <= offset { low = mid } else { high = mid - 1 }
            }
            return (low, offset - starts[low], starts[low + 1] - offset)
        }
    }

    /// The pieces of a request in combination order (length > 0, range already checked).
    func pieces(offset: UInt64, length: Int) -> [Piece] {
        var out: [Piece] = []
        var position = offset
        var left = UInt64(length)
        while left > 0 {
            let (member, memberOffset, contiguous) = locate(position)
            let take = min(left, contiguous)
            out.append(Piece(member: member, memberOffset: memberOffset, length: Int(take)))
            position += take
            left -= take
        }
        return out
    }

    /// One contiguous sub-request per member, in order of first appearance.
    private struct SubRequest {
        var member: Int
        var memberOffset: UInt64
        var length: Int
    }

    private func subRequests(_ pieces: [Piece]) -> [SubRequest] {
        var out: [SubRequest] = []
        var index = [Int](repeating: -1, count: members.count)
        for piece in pieces {
            let i = index[piece.member]
            if i < 0 {
                index[piece.member] = out.count
                out.append(SubRequest(member: piece.member, memberOffset: piece.memberOffset, length: piece.length))
            } else {
                // Always contiguous on the member (see the type's comment).
                assert(out[i].memberOffset + UInt64(out[i].length) == piece.memberOffset)
                out[i].length += piece.length
            }
        }
        return out
    }

    public func read(offset: UInt64, length: Int, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        if let error = check(offset, length) { return eventLoop.makeFailedFuture(error) }
        guard length > 0 else { return eventLoop.makeSucceededFuture(allocator.buffer(capacity: 0)) }
        let pieces = self.pieces(offset: offset, length: length)
        let requests = subRequests(pieces)
        let name = self.name
        if requests.count == 1 {
            let r = requests[0]
            return members[r.member].read(offset: r.memberOffset, length: r.length, on: eventLoop).flatMapThrowing { buffer in
                guard buffer.readableBytes == length else {
                    throw StorageError.shortTransfer(device: name, operation: "read", offset: offset, expected: length, transferred: buffer.readableBytes)
                }
                return buffer
            }
        }
        let futures = requests.map { members[$0.member].read(offset: $0.memberOffset, length: $0.length, on: eventLoop) }
        let allocator = self.allocator
        let memberCount = members.count
        return EventLoopFuture.whenAllSucceed(futures, on: eventLoop).flatMapThrowing { buffers in
            // Where each member's buffer starts on the member, by member index.
            var slot = [Int](repeating: -1, count: memberCount)
            for (i, r) in requests.enumerated() {
                guard buffers[i].readableBytes == r.length else {
                    throw StorageError.shortTransfer(device: name, operation: "read", offset: offset, expected: length,
                                                     transferred: buffers[i].readableBytes)
                }
                slot[r.member] = i
            }
            var out = allocator.buffer(capacity: length)
            for piece in pieces {
                let i = slot[piece.member]
                let source = buffers[i]
                let at = source.readerIndex + Int(piece.memberOffset - requests[i].memberOffset)
                out.writeImmutableBuffer(source.getSlice(at: at, length: piece.length)!)
            }
            return out
        }
    }

    public func write(offset: UInt64, buffers: [ByteBuffer], forceUnitAccess: Bool, on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let length = buffers.reduce(0) { $0 + $1.readableBytes }
        if let error = check(offset, length) { return eventLoop.makeFailedFuture(error) }
        guard length > 0 else { return eventLoop.makeSucceededVoidFuture() }
        let pieces = self.pieces(offset: offset, length: length)
        let requests = subRequests(pieces)
        if requests.count == 1 {
            let r = requests[0]
            return members[r.member].write(offset: r.memberOffset, buffers: buffers, forceUnitAccess: forceUnitAccess, on: eventLoop)
        }
        // Cut the caller's buffers into per-member slice lists (no byte is copied).
        var perMember = [[ByteBuffer]](repeating: [], count: members.count)
        var source = buffers[...]
        var current = source.popFirst()!
        for piece in pieces {
            var need = piece.length
            while need > 0 {
                while current.readableBytes == 0 { current = source.popFirst()! }
                let take = min(need, current.readableBytes)
                perMember[piece.member].append(current.readSlice(length: take)!)
                need -= take
            }
        }
        let futures = requests.map {
            members[$0.member].write(offset: $0.memberOffset, buffers: perMember[$0.member], forceUnitAccess: forceUnitAccess, on: eventLoop)
        }
        return EventLoopFuture.andAllSucceed(futures, on: eventLoop)
    }

    public func flush(on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        if isClosed.load(ordering: .relaxed) { return eventLoop.makeFailedFuture(StorageError.closed(device: name)) }
        let futures = members.map { $0.flush(on: eventLoop) }
        // Wait for every member, then report the first failure.
        return EventLoopFuture.whenAllComplete(futures, on: eventLoop).flatMapThrowing { results in
            for case let .failure(error) in results { throw error }
        }
    }
}

extension RAID0Device: DeviceStatusReporting {
    public var status: DeviceStatus {
        let kind: String
        switch layout {
        case .concatenation: kind = "raid0 concat"
        case let .stripe(chunk): kind = "raid0 stripe \(sizeText(chunk))"
        }
        return DeviceStatus(kind: kind, members: members.map { DeviceStatus.Member(device: $0) })
    }
}
