@testable import ISCSITarget
import NIOCore
import NIOEmbedded
import NIOHTTP1
import XCTest

/// The endpoint's handler on an EmbeddedChannel: what it refuses without touching a route
/// (routes run on the thread pool and are covered end to end in MetricsTests).
final class MetricsHTTPHandlerTests: XCTestCase {
    private func exchange(_ method: HTTPMethod, _ uri: String, keepAlive: Bool = true) throws -> (HTTPResponseHead, String, Bool) {
        let routes = MetricsEndpoint.Routes(metrics: { XCTFail("no scrape for a refused request"); return "" },
                                            health: { XCTFail("no health check for a refused request")
                                                return ServiceHealth(serving: true, notes: []) })
        let channel = EmbeddedChannel(handler: MetricsHTTPHandler(routes: routes))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9420)).wait()
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
        if !keepAlive { head.headers.add(name: "Connection", value: "close") }
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        guard case let .head(response) = try XCTUnwrap(channel.readOutbound(as: HTTPServerResponsePart.self)) else {
            throw XCTSkip("unreachable: no head")
        }
        var body = ""
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            if case let .body(.byteBuffer(buffer)) = part { body += String(buffer: buffer) }
        }
        return (response, body, channel.isActive)
    }

    func testOnlyMetricsAndHealthzAnswerAndOnlyToGET() throws {
        let table: [(HTTPMethod, String, HTTPResponseStatus)] = [
            (.GET, "/", .notFound), (.GET, "/metricsx", .notFound), (.GET, "/../metrics", .notFound),
            (.POST, "/metrics", .methodNotAllowed), (.PUT, "/healthz", .methodNotAllowed),
            (.DELETE, "/metrics?x=1", .methodNotAllowed),
        ]
        for (method, uri, status) in table {
            let (head, body, _) = try exchange(method, uri)
            XCTAssertEqual(head.status, status, "\(method) \(uri)")
            XCTAssertEqual(head.headers["Content-Length"].first, String(body.utf8.count))
            if status == .methodNotAllowed { XCTAssertEqual(head.headers["Allow"].first, "GET, HEAD") }
        }
    }

    func testConnectionCloseIsHonoured() throws {
        let (kept, _, openAfterKeepAlive) = try exchange(.GET, "/nope")
        XCTAssertEqual(kept.headers["Connection"].first, "keep-alive")
        XCTAssertTrue(openAfterKeepAlive)
        let (closed, _, openAfterClose) = try exchange(.GET, "/nope", keepAlive: false)
        XCTAssertEqual(closed.headers["Connection"].first, "close")
        XCTAssertFalse(openAfterClose)
    }
}
