import Logging
import NIOCore
import Storage

/// Members that are stale (failed before, new, or after an unclean stop) catch up in the
/// background while I/O goes on; the log says when each is done.
public enum MirrorResync {
    public static func start(_ mirrors: [RAID1Device], on group: EventLoopGroup, logger: Logger) {
        for mirror in mirrors {
            let name = mirror.name
            mirror.resyncStale(on: group.next()).whenComplete { result in
                switch result {
                case let .success(done):
                    for r in done {
                        logger.notice("resync complete", metadata: [
                            "combination": "\(name)", "member": "\(r.member)", "from": "\(r.source)",
                            "regions": "\(r.regions)", "bytes": "\(r.bytes)"])
                    }
                case let .failure(error):
                    logger.error("resync failed: \(error)", metadata: ["combination": "\(name)"])
                }
            }
        }
    }
}
