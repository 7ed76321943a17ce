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
    public let registry: SessionRegistry
    private let group: EventLoopGroup
    private let logger: Logger
    private let listeners: NIOLockedValueBox<[Listener]>
    /// What new connections get; a reload replaces it (running ones keep theirs).
    private let currentSettings: NIOLockedValueBox<ServerRuntimeSettings>

    /// A listening channel and the address it was asked to bind (port 0 stays 0 here).
    struct Listener {
        var requested: ListeningPortal?
        var channel: Channel
    }

    public init(settings: ServerRuntimeSettings, catalog: TargetCatalog, group: EventLoopGroup, logger: Logger) {
        self.currentSettings = NIOLockedValueBox(settings)
        self.registry = SessionRegistry(catalog: catalog, limits: settings.limits,
                                        discoveryAuthentication: settings.discoveryAuthentication)
        self.group = group
        self.logger = logger
        self.listeners = NIOLockedValueBox([])
    }

    public var settings: ServerRuntimeSettings { currentSettings.withLockedValue { $0 } }

    /// Where the server listens now (the real port for port 0).
    public var boundAddresses: [SocketAddress] {
        listeners.withLockedValue { $0.compactMap(\.channel.localAddress) }
    }

    /// A reload: connections accepted from now on use `settings`; the registry's limits and
    /// discovery users change with them. Portals are `listen`'s and `stopListening`'s.
    public func replace(settings: ServerRuntimeSettings, catalog: TargetCatalog) {
        currentSettings.withLockedValue { $0 = settings }
        registry.replace(catalog: catalog, limits: settings.limits, discoveryAuthentication: settings.discoveryAuthentication)
    }

    /// Serves on sockets bound earlier (see `ListeningSocket`: at the start, and a reload's
    /// new portals); `portal` is what the config asked for, so that `stopListening` finds it
    /// again. Returns the bound addresses (with the real port for port 0).
    public func listen(adopting sockets: [(socket: ListeningSocket, portal: ListeningPortal?)]) throws -> [SocketAddress] {
        let current = currentSettings
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
                let settings = current.withLockedValue { $0 }
                return channel.eventLoop.makeCompletedFuture {
                    try Self.serveConnection(on: channel, settings: settings, registry: registry, logger: logger)
                }
            }
        var bound: [SocketAddress] = []
        for (socket, portal) in sockets {
            let channel = try bootstrap.withBoundSocket(socket.descriptor).wait()
            listeners.withLockedValue { $0.append(Listener(requested: portal, channel: channel)) }
            if let address = channel.localAddress { bound.append(address) }
        }
        return bound
    }

    /// Stops listening on `host:port` (as the config names it) and asks the connections that
    /// came in through it to log out, closing those still there after `grace`. Returns how
    /// many it asked.
    public func stopListening(host: String, port: Int, grace: TimeAmount = .seconds(5)) -> Int {
        let matching = listeners.withLockedValue { list -> [Listener] in
            let found = list.filter { Self.matches($0, host: host, port: port) }
            list.removeAll { Self.matches($0, host: host, port: port) }
            return found
        }
        var asked = 0
        for listener in matching {
            let local = listener.channel.localAddress
            try? listener.channel.close().wait()
            guard let local else { continue }
            for handle in registry.connectionHandles where handle.localPort == local.port
                && (Self.isWildcard(host) || handle.localHost == local.ipAddress) {
                handle.requestLogout()
                group.next().scheduleTask(in: grace) { handle.close() }
                asked += 1
            }
        }
        return asked
    }

    static func matches(_ listener: Listener, host: String, port: Int) -> Bool {
        if let requested = listener.requested { return requested.host == host && requested.port == port }
        guard let local = listener.channel.localAddress else { return false }
        return local.port == port && (local.ipAddress == host || Self.isWildcard(host) && Self.isWildcard(local.ipAddress ?? ""))
    }

    static func isWildcard(_ host: String) -> Bool { host == "0.0.0.0" || host == "::" }

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
        let channels = listeners.withLockedValue { l in defer { l = [] }; return l.map(\.channel) }
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

