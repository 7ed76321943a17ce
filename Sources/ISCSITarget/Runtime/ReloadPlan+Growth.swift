import Config
import DeviceServer
import Storage

/// Devices that grow under an LU that stays: a `size` line raised, or a file or block device
/// that the admin enlarged (a device without `size` exports all of it).
extension ReloadPlan {
    struct Growth {
        var unit: LogicalUnit
        var device: GrowableDevice
        var target: String
        var lun: Int
        var from: UInt64
        var to: UInt64
        /// `create yes`: a regular file shorter than the new size is extended.
        var extendFile: Bool
    }

    /// The growths this reload makes, and why it cannot when a kept LU's device would
    /// shrink or cannot be measured.
    func growths() -> (growths: [Growth], refusals: [String]) {
        var growths: [Growth] = []
        var refusals: [String] = []
        for target in new.targets {
            for mapping in target.luns {
                guard let unit = kept[Key(target.iqn, mapping.lun)], let config = new.device(named: mapping.device),
                      config.path != nil, let device = unit.device as? GrowableDevice else { continue }
                let blockSize = UInt64(unit.blockSize)
                let current = unit.info.blockCount * blockSize
                let wanted: UInt64
                if let size = config.size {
                    wanted = size
                } else {
                    do {
                        let available = try device.availableBytes()
                        wanted = available - available % blockSize
                    } catch {
                        refusals.append("\(location(config.line)): \(error)")
                        continue
                    }
                }
                let place = "\(target.iqn) lun \(mapping.lun)"
                if wanted < current {
                    let why = config.size == nil ? "its backing store now holds \(wanted) bytes" : "size \(wanted) is smaller"
                    refusals.append("\(location(config.lines["size"] ?? config.line)): device \(config.name): \(why) but \(place) exports \(current); shrinking would cut off blocks initiators wrote")
                } else if wanted > current {
                    guard wanted % blockSize == 0 else {
                        refusals.append("\(location(config.lines["size"] ?? config.line)): device \(config.name): size \(wanted) is not a multiple of the block size \(blockSize)")
                        continue
                    }
                    growths.append(Growth(unit: unit, device: device, target: target.iqn, lun: mapping.lun,
                                          from: current, to: wanted, extendFile: config.create))
                }
            }
        }
        return (growths, refusals)
    }

    /// Whether a size change of `device` is a growth of a kept LU's own device (which
    /// `growths` handles) rather than one under a combination or of a RAM disk.
    func growsInPlace(_ device: String) -> Bool {
        guard new.device(named: device)?.path != nil else { return false }
        return kept.values.contains { $0.device.name == device && $0.device is GrowableDevice }
    }
}
