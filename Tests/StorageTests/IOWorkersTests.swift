import NIOCore
import NIOPosix
import Storage
import XCTest

final class IOWorkersTests: XCTestCase {
    func testResultsComeBackOnTheSubmittingLoopInOrder() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        let workers = IOWorkers(threads: 1, name: "test")
        defer { workers.shutdown() }
        let loop = group.next()
        let futures = (0..<500).map { i in workers.submit(on: loop) { i * 2 } }
        var order: [Int] = []
        for (i, f) in futures.enumerated() {
            f.whenSuccess { _ in XCTAssertTrue(loop.inEventLoop) }
            XCTAssertEqual(try f.wait(), i * 2)
        }
        // Completions of one worker for one loop arrive in submission order.
        let collected = try EventLoopFuture.whenAllSucceed(futures, on: loop).wait()
        order = collected
        XCTAssertEqual(order, (0..<500).map { $0 * 2 })
    }

    func testErrorsArePassedThrough() {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let workers = IOWorkers(threads: 2, name: "test")
        defer { workers.shutdown() }
        struct Boom: Error {}
        XCTAssertThrowsError(try workers.submit(on: group.next()) { () throws -> Int in throw Boom() }.wait()) {
            XCTAssertTrue($0 is Boom)
        }
    }

    func testSubmitAfterShutdownFailsInsteadOfHanging() {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let workers = IOWorkers(threads: 1, name: "dev0")
        XCTAssertEqual(try workers.submit(on: group.next()) { 1 }.wait(), 1)
        workers.shutdown()
        XCTAssertTrue(workers.isStopped)
        XCTAssertThrowsError(try workers.submit(on: group.next()) { 2 }.wait()) {
            XCTAssertEqual($0 as? StorageError, .closed(device: "dev0"))
        }
    }
}
