import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// The listening side: binds every portal, starts a connection handler per accepted TCP
/// connection, and shuts down politely (logout requests, then close).
public final class ISCSIServer: Sendable {
    public let settings: ServerRuntimeSettings
    public let registry: SessionRegistry
    private let group: EventLoopGroup
    private let logger: Logger
    private let listeners: NIOLockedValueBox<[Channel]>

    public init(settings: ServerRuntimeSettings, catalog: TargetCatalog, group: EventLoopGroup, logger: Logger) {
        self.settings = settings
        self.registry = SessionRegistry(catalog: catalog, maxSessions: settings.maxSessions,
                                        discoveryAuthentication: settings.discoveryAuthentication)
        self.group = group
        self.logger = logger
        self.listeners = NIOLockedValueBox([])
    }

    /// Starts serving on sockets bound earlier (see `ListeningSocket`); returns the bound
    /// addresses (with the real port for port 0).
    public func start(adopting sockets: [ListeningSocket]) throws -> [SocketAddress] {
        let settings = self.settings
        let registry = self.registry
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: group)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_rcvbuf), value: 1 << 20)
            .childChannelOption(.socketOption(.so_sndbuf), value: 1 << 20)
            // Each channel keeps its receive buffer for the next read, so the initial size is
            // what an idle or half-open connection costs: 4 KiB, growing within a few reads
            // for a busy one (up to 1 MiB).
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 4096, maximum: 1 << 20))
            .childChannelOption(.maxMessagesPerRead, value: 4)
            // Writability (OutputBudget): reads wait while more than 4 MiB sits unsent in
            // NIO's queue behind a full socket, and start again below 1 MiB.
            .childChannelOption(.writeBufferWaterMark, value: ChannelOptions.Types.WriteBufferWaterMark(low: 1 << 20, high: 4 << 20))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.serveConnection(on: channel, settings: settings, registry: registry, logger: logger)
                }
            }
        var bound: [SocketAddress] = []
        for socket in sockets {
            let channel = try bootstrap.withBoundSocket(socket.descriptor).wait()
            listeners.withLockedValue { $0.append(channel) }
            if let address = channel.localAddress { bound.append(address) }
        }
        return bound
    }

    /// Makes `channel` an iSCSI connection of this target: the one handler the server puts on
    /// every accepted TCP connection (and a fuzzer or a test on an `EmbeddedChannel`). Call on
    /// the channel's event loop.
    public static func serveConnection(on channel: Channel, settings: ServerRuntimeSettings, registry: SessionRegistry,
                                       logger: Logger) throws {
        let handler = ConnectionHandler(settings: settings, registry: registry, logger: logger)
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    /// Stops accepting, asks every initiator to log out, waits up to `grace` for them, then
    /// closes whatever is left.
    public func shutdown(grace: TimeAmount = .seconds(3)) {
        let channels = listeners.withLockedValue { l in defer { l = [] }; return l }
        for channel in channels { try? channel.close().wait() }
        let handles = registry.connectionHandles
        for handle in handles { handle.requestLogout() }
        let deadline = NIODeadline.now() + grace
        while NIODeadline.now() < deadline && !registry.connectionHandles.isEmpty {
            usleep(50_000)
        }
        for handle in registry.connectionHandles { handle.close() }
        let closeDeadline = NIODeadline.now() + .seconds(1)
        while NIODeadline.now() < closeDeadline && !registry.connectionHandles.isEmpty {
            usleep(10_000)
        }
    }
}

