import NIOCore
import NIOPosix
import Storage
import StorageTestSupport
import XCTest

/// A small deterministic generator for offsets and lengths.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

final class RAID0DeviceTests: StorageTestCase {
    private func rams(_ sizes: [UInt64], prefix: String = "m") throws -> [RAMDevice] {
        try sizes.enumerated().map { try RAMDevice(name: "\(prefix)\($0.offset)", size: $0.element) }
    }

    /// Splits `bytes` into buffers of uneven sizes, some with a moved reader index.
    private func unevenBuffers(_ bytes: [UInt8]) -> [ByteBuffer] {
        var out: [ByteBuffer] = []
        var at = 0
        var size = 1
        while at < bytes.count {
            let n = min(size, bytes.count - at)
            var buffer = ByteBuffer(bytes: [0xee, 0xee] + bytes[at..<(at + n)])
            buffer.moveReaderIndex(forwardBy: 2)
            out.append(buffer)
            at += n
            size = size * 3 + 7
        }
        return out
    }

    func testConcatenationLayoutByteForByte() throws {
        let members = try rams([65536, 131072, 32768])
        let raid = try RAID0Device(name: "cat", members: members, chunk: nil)
        defer { raid.close() }
        XCTAssertEqual(raid.size, 65536 + 131072 + 32768)
        XCTAssertEqual(raid.layout, .concatenation)
        XCTAssertFalse(raid.hasVolatileCache)
        let all = pattern(Int(raid.size), seed: 5)
        try raid.write(offset: 0, buffers: unevenBuffers(all), forceUnitAccess: false, on: loop).wait()
        // Members in order, each from its offset 0.
        XCTAssertEqual(try readBack(members[0], offset: 0, length: 65536), Array(all[0..<65536]))
        XCTAssertEqual(try readBack(members[1], offset: 0, length: 131072), Array(all[65536..<196608]))
        XCTAssertEqual(try readBack(members[2], offset: 0, length: 32768), Array(all[196608...]))
        XCTAssertEqual(try readBack(raid, offset: 0, length: all.count), all)
        // Reads across both boundaries and inside one member.
        XCTAssertEqual(try readBack(raid, offset: 65000, length: 140000), Array(all[65000..<205000]))
        XCTAssertEqual(try readBack(raid, offset: 70000, length: 10), Array(all[70000..<70010]))
        XCTAssertEqual(try readBack(raid, offset: raid.size - 1, length: 1), [all.last!])
    }

    func testStripeLayoutByteForByte() throws {
        let chunk: UInt64 = 4096
        // Uneven members: the stripe uses 16 whole chunks of each (the smallest, 66000 bytes,
        // rounded down to a chunk multiple).
        let members = try rams([70000, 80000, 66000])
        let raid = try RAID0Device(name: "stripe", members: members, chunk: chunk)
        defer { raid.close() }
        XCTAssertEqual(raid.layout, .stripe(chunk: chunk))
        XCTAssertEqual(raid.size, 3 * 16 * chunk)
        let all = pattern(Int(raid.size), seed: 9)
        try raid.write(offset: 0, buffers: unevenBuffers(all), forceUnitAccess: false, on: loop).wait()
        let copies = try members.map { try readBack($0, offset: 0, length: Int($0.size)) }
        let n = members.count
        for k in 0..<(Int(raid.size) / Int(chunk)) {
            let memberBytes = copies[k % n]
            let at = (k / n) * Int(chunk)
            XCTAssertEqual(Array(memberBytes[at..<(at + Int(chunk))]), Array(all[(k * Int(chunk))..<((k + 1) * Int(chunk))]),
                           "chunk \(k) on member \(k % n) at \(at)")
        }
        // Nothing written beyond the used part of the bigger members.
        XCTAssertTrue(copies[0][65536...].allSatisfy { $0 == 0 })
        XCTAssertTrue(copies[1][65536...].allSatisfy { $0 == 0 })
        XCTAssertEqual(try readBack(raid, offset: 0, length: all.count), all)
    }

    func testRandomRequestsAgainstAModel() throws {
        for chunk in [nil, 4096 as UInt64, 8192] {
            let members = try rams([98304, 98304, 65536 + 4096])
            let raid = try RAID0Device(name: "r", members: members, chunk: chunk)
            var model = [UInt8](repeating: 0, count: Int(raid.size))
            var rng = SplitMix64(state: chunk ?? 1)
            for round in 0..<200 {
                let offset = rng.below(Int(raid.size))
                let length = min(rng.below(40000) + 1, Int(raid.size) - offset)
                if round % 2 == 0 {
                    let bytes = pattern(length, seed: round)
                    model.replaceSubrange(offset..<(offset + length), with: bytes)
                    try raid.write(offset: UInt64(offset), buffers: unevenBuffers(bytes), forceUnitAccess: round % 3 == 0, on: loop).wait()
                } else {
                    XCTAssertEqual(try readBack(raid, offset: UInt64(offset), length: length), Array(model[offset..<(offset + length)]),
                                   "chunk \(String(describing: chunk)) read \(length) at \(offset)")
                }
            }
            XCTAssertEqual(try readBack(raid, offset: 0, length: model.count), model)
            raid.close()
        }
    }

    func testRequestsSpanningManyChunksRunConcurrentlyOnePerMember() throws {
        let wrapped = try rams([1 << 20, 1 << 20, 1 << 20, 1 << 20]).map { FaultInjectingDevice(wrapping: $0) }
        let raid = try RAID0Device(name: "s4", members: wrapped, chunk: 4096)
        defer { raid.close() }
        // 40 chunks starting mid-chunk: every member gets one contiguous sub-request.
        let bytes = pattern(40 * 4096, seed: 3)
        try raid.write(offset: 2048, buffers: [ByteBuffer(bytes: bytes)], forceUnitAccess: false, on: loop).wait()
        XCTAssertEqual(wrapped.map(\.counters.writes), [1, 1, 1, 1])
        XCTAssertEqual(try readBack(raid, offset: 2048, length: bytes.count), bytes)
        XCTAssertEqual(wrapped.map(\.counters.reads), [1, 1, 1, 1])
        XCTAssertEqual(wrapped.map(\.counters.bytesRead).reduce(0, +), UInt64(bytes.count))
        // Inside one chunk: one member only.
        XCTAssertEqual(try readBack(raid, offset: 4096 * 5 + 10, length: 100), Array(bytes[(4096 * 5 + 10 - 2048)..<(4096 * 5 + 110 - 2048)]))
        XCTAssertEqual(wrapped.map(\.counters.reads), [1, 2, 1, 1])
    }

    func testFlushReachesEveryMemberAndCacheIsAnyMembers() throws {
        let ram = try RAMDevice(name: "ram", size: 65536)
        let file = try openDevice(DeviceSpec(name: "file", source: .path(path("f.img")), size: 65536, create: true))
        let wrapped = [FaultInjectingDevice(wrapping: ram), FaultInjectingDevice(wrapping: file)]
        let raid = try RAID0Device(name: "mixed", members: wrapped, chunk: nil)
        defer { raid.close() }
        XCTAssertTrue(raid.hasVolatileCache, "the file member has a page cache")
        try raid.flush(on: loop).wait()
        XCTAssertEqual(wrapped.map(\.counters.flushes), [1, 1])
        wrapped[1].failNth(1, of: [.flush])
        XCTAssertNotNil(failure(raid.flush(on: loop)))
        XCTAssertEqual(wrapped.map(\.counters.flushes), [2, 2], "every member flushed even when one fails")
    }

    func testMemberErrorsFailTheRequest() throws {
        let wrapped = try rams([65536, 65536]).map { FaultInjectingDevice(wrapping: $0) }
        let raid = try RAID0Device(name: "e", members: wrapped, chunk: 4096)
        defer { raid.close() }
        wrapped[1].failNth(1, of: [.read])
        guard case .io(device: "m1", operation: "read", _, _, _)? = failure(raid.read(offset: 0, length: 8192, on: loop)) else {
            return XCTFail("expected the member's EIO")
        }
        wrapped[0].inject(.init([.read], .nth(1), .short))
        guard case .shortTransfer? = failure(raid.read(offset: 0, length: 100, on: loop)) else {
            return XCTFail("expected a short transfer")
        }
        wrapped[0].failNth(1, of: [.write])
        XCTAssertNotNil(failure(raid.write(offset: 0, buffers: [ByteBuffer(bytes: [1])], forceUnitAccess: false, on: loop)))
    }

    func testGeometryErrorsAndRange() throws {
        let small = try rams([4096, 2048])
        guard case let .combination(name, problem)? = raid0Error(small, chunk: 4096) else { return XCTFail("expected an error") }
        XCTAssertEqual(name, "bad")
        XCTAssertTrue(problem.contains("m1"), problem)
        guard case .combination? = raid0Error([], chunk: nil) else { return XCTFail("no members") }
        guard case .combination? = raid0Error(small, chunk: 0) else { return XCTFail("chunk 0") }

        let raid = try RAID0Device(name: "r", members: try rams([8192, 8192]), chunk: nil)
        guard case .outOfRange? = failure(raid.read(offset: 16000, length: 1000, on: loop)) else { return XCTFail("range") }
        XCTAssertEqual(try readBack(raid, offset: 16384, length: 0), [])
        raid.close()
        guard case .closed("r")? = failure(raid.read(offset: 0, length: 1, on: loop)) else { return XCTFail("closed") }
    }

    private func raid0Error(_ members: [BlockDevice], chunk: UInt64?) -> StorageError? {
        do {
            _ = try RAID0Device(name: "bad", members: members, chunk: chunk)
            return nil
        } catch {
            return error
        }
    }
}
