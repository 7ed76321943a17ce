import ISCSITarget
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

extension Serve {
    /// Starts `[server] metrics` on its socket (bound before the privilege drop). A failure
    /// is logged: the target serves iSCSI without its metrics rather than not at all.
    static func serveMetrics(on socket: ListeningSocket, group: EventLoopGroup, loops: [EventLoop], server: ISCSIServer,
                             stopping: NIOLockedValueBox<Bool>, logger: Logger) -> Channel? {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let startTime = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
        let registry = server.registry
        let routes = MetricsEndpoint.Routes(
            metrics: {
                MetricsReport.capture(registry: registry, process: ProcessSample.capture(loops: loops),
                                      startTime: startTime).render()
            },
            health: {
                ServiceHealth.evaluate(catalog: registry.catalog, listening: server.boundAddresses.map(portalText),
                                       stopping: stopping.withLockedValue { $0 })
            })
        do {
            let channel = try MetricsEndpoint.serve(socket, on: group, routes: routes)
            if let address = channel.localAddress {
                print("metrics on http://\(portalText(address))/metrics")
            }
            return channel
        } catch {
            logger.error("metrics endpoint \(socket.host):\(socket.port): \(error)")
            return nil
        }
    }
}
