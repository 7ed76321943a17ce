import Foundation
import Glibc
import NIOCore
import NIOPosix
import Storage
import XCTest

/// Shared fixtures: one event loop and a private temp directory per test.
class StorageTestCase: XCTestCase {
    var group: MultiThreadedEventLoopGroup!
    var loop: EventLoop { group.next() }
    var directory = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var template = Array("/tmp/targe-storage-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        XCTAssertNotNil(made, "mkdtemp failed: errno \(errno)")
        directory = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    override func tearDownWithError() throws {
        try group.syncShutdownGracefully()
        if !directory.isEmpty { try? FileManager.default.removeItem(atPath: directory) }
        try super.tearDownWithError()
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// Creates a regular file of `size` bytes filled with `byte` (a pattern makes slices checkable).
    func makeFile(_ name: String, size: Int, byte: UInt8? = nil) throws -> String {
        let p = path(name)
        let fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        if let byte {
            let bytes = [UInt8](repeating: byte, count: size)
            XCTAssertEqual(bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, size, 0) }, size)
        } else {
            XCTAssertEqual(ftruncate(fd, off_t(size)), 0)
        }
        return p
    }

    /// Reads bytes straight from the file, bypassing the device.
    func preadFile(_ path: String, offset: Int, length: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: length)
        let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(offset)) }
        XCTAssertEqual(n, length)
        return out
    }

    func fileStat(_ path: String) -> stat {
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        return st
    }

    func openDevice(_ spec: DeviceSpec) throws -> BlockDevice {
        try DeviceOpener.open(spec)
    }

    func openError(_ spec: DeviceSpec) -> StorageError? {
        do {
            let device = try DeviceOpener.open(spec)
            device.close()
            return nil
        } catch {
            return error
        }
    }

    /// Waits for a future that must fail and returns its StorageError.
    func failure<T: Sendable>(_ future: EventLoopFuture<T>, file: StaticString = #filePath, line: UInt = #line) -> StorageError? {
        do {
            _ = try future.wait()
            XCTFail("expected a failure", file: file, line: line)
            return nil
        } catch let error as StorageError {
            return error
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    func pattern(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7 &+ ($0 >> 8)) }
    }

    func readBack(_ device: BlockDevice, offset: UInt64, length: Int) throws -> [UInt8] {
        let buffer = try device.read(offset: offset, length: length, on: loop).wait()
        XCTAssertEqual(buffer.readableBytes, length)
        return buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []
    }

    func writeChunks(_ device: BlockDevice, offset: UInt64, _ chunks: [[UInt8]], fua: Bool = false) throws {
        try device.write(offset: offset, buffers: chunks.map { ByteBuffer(bytes: $0) }, forceUnitAccess: fua, on: loop).wait()
    }
}
