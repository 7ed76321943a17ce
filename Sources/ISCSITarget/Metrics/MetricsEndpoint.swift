import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// `[server] metrics ADDR:PORT`: an HTTP listener that answers `GET /metrics` (the
/// Prometheus text format) and `GET /healthz` (200 while the target serves, 503 with the
/// reason otherwise), and nothing else: other paths get 404, other methods 405.
///
/// The socket is bound before the privilege drop (`ListeningSocket`); the scrape itself runs
/// on NIO's thread pool, since it reads /proc and waits for each event loop to measure its delay.
public struct MetricsEndpoint: Sendable {
    /// What the endpoint serves: both called on a thread pool thread.
    public struct Routes: Sendable {
        public var metrics: @Sendable () -> String
        public var health: @Sendable () -> ServiceHealth

        public init(metrics: @escaping @Sendable () -> String, health: @escaping @Sendable () -> ServiceHealth) {
            self.metrics = metrics
            self.health = health
        }
    }

    /// At most this many scrapers at once; more are closed at accept (the endpoint is for
    /// a monitoring server or two, not for the world).
    public static let maxConnections = 16
    /// A connection that sends no request for this long is closed.
    public static let idleTimeout = TimeAmount.seconds(60)

    /// Serves on `socket` until the returned channel closes.
    public static func serve(_ socket: ListeningSocket, on group: EventLoopGroup, routes: Routes) throws -> Channel {
        let open = NIOLockedValueBox(0)
        return try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let admitted = open.withLockedValue { n in
                    guard n < maxConnections else { return false }
                    n += 1
                    return true
                }
                guard admitted else { return channel.close() }
                channel.closeFuture.whenComplete { _ in open.withLockedValue { $0 -= 1 } }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try sync.addHandler(MetricsHTTPHandler(routes: routes))
                }
            }
            .withBoundSocket(socket.descriptor).wait()
    }
}

/// One HTTP/1.1 connection of the metrics endpoint: a request at a time, keep-alive as the
/// client asks.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: MetricsEndpoint.Routes
    private var request: HTTPRequestHead?

    init(routes: MetricsEndpoint.Routes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(head):
            request = head
        case .body:
            break  // no route takes a body
        case .end:
            guard let head = request else { return }
            request = nil
            answer(head, context: context)
        }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard path == "/metrics" || path == "/healthz" else {
            return respond(head, status: .notFound, body: "not found; try /metrics or /healthz\n", context: context)
        }
        guard head.method == .GET || head.method == .HEAD else {
            return respond(head, status: .methodNotAllowed, body: "only GET\n", context: context, extra: [("Allow", "GET, HEAD")])
        }
        let routes = routes
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        NIOThreadPool.singleton.runIfActive(eventLoop: loop) { () -> (HTTPResponseStatus, String, String) in
            if path == "/metrics" {
                return (.ok, routes.metrics(), "text/plain; version=0.0.4; charset=utf-8")
            }
            let health = routes.health()
            return (health.serving ? .ok : .serviceUnavailable, health.text, "text/plain; charset=utf-8")
        }.whenComplete { result in
            let (handler, context) = bound.value
            switch result {
            case let .success((status, body, type)):
                handler.respond(head, status: status, body: body, context: context, contentType: type)
            case let .failure(error):
                handler.respond(head, status: .internalServerError, body: "\(error)\n", context: context)
            }
        }
    }

    private func respond(_ request: HTTPRequestHead, status: HTTPResponseStatus, body: String, context: ChannelHandlerContext,
                         contentType: String = "text/plain; charset=utf-8", extra: [(String, String)] = []) {
        let keepAlive = request.isKeepAlive
        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", String(body.utf8.count))] + extra)
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
                      promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
