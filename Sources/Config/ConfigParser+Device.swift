/// Reader for [device NAME].
extension ConfigParser {
    static func readDevice(_ section: ConfigSection, diagnostics: inout Diagnostics) -> DeviceConfig {
        var reader = SectionReader(section, file: diagnostics.file)
        let title = section.title
        var path: String?
        var ram: UInt64?
        var rbd: RBDSource?
        var cephConf: String?
        var cephID: String?
        var device = DeviceConfig(name: section.name ?? "", source: .ram(bytes: 0), line: section.line)
        for entry in section.entries {
            switch entry.key {
            case "path":
                guard let value = reader.single(entry) else { continue }
                if value.hasPrefix("/") {
                    path = value
                } else {
                    // Relative to what? PID 1 and a service have different working directories.
                    reader.error(entry.line, "path '\(value)' must be absolute")
                }
            case "ram":
                ram = reader.size(entry)
            case "rbd":
                guard let value = reader.single(entry) else { continue }
                if let parsed = RBDSource.parsePath(value) {
                    rbd = RBDSource(pool: parsed.pool, namespace: parsed.namespace, image: parsed.image)
                } else {
                    reader.error(entry.line, "bad rbd image '\(value)' (expected POOL/IMAGE or POOL/NAMESPACE/IMAGE)")
                }
            case "ceph-conf":
                guard let value = reader.single(entry) else { continue }
                if value.hasPrefix("/") { cephConf = value } else { reader.error(entry.line, "ceph-conf '\(value)' must be absolute") }
            case "ceph-id":
                guard let value = reader.single(entry) else { continue }
                if !value.isEmpty, value.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
                    || $0 == UInt8(ascii: ".") }) {
                    cephID = value
                } else {
                    reader.error(entry.line, "bad ceph-id '\(value)' (a cephx client id such as admin or targe)")
                }
            case "offset":
                if let value = reader.size(entry) { device.offset = value }
            case "size":
                // "entire" is the seeds' wording for leaving the size out.
                if entry.values.count == 1, entry.values[0].lowercased() == "entire" {
                    _ = reader.claim(entry)
                } else {
                    device.size = reader.size(entry)
                }
            case "engine":
                guard let value = reader.single(entry) else { continue }
                if let engine = Engine(rawValue: value.lowercased()) {
                    device.engine = engine
                } else {
                    reader.error(entry.line, "bad engine '\(value)' (expected aio or buffered)")
                }
            case "create":
                if let value = reader.bool(entry) { device.create = value }
            case "block-size":
                guard let value = reader.int(entry, in: 0...Int.max) else { continue }
                if value == 512 || value == 4096 {
                    device.blockSize = value
                } else {
                    reader.error(entry.line, "block-size must be 512 or 4096, got \(value)")
                }
            default:
                reader.unknownKey(entry)
            }
        }
        let lines = reader.lines
        if var source = rbd {
            source.cephConf = cephConf ?? RBDSource.defaultCephConf
            source.cephID = cephID ?? RBDSource.defaultCephID
            device.source = .rbd(source)
            // The image is the whole device: its size is the cluster's (`rbd resize`).
            for key in ["path", "ram", "offset", "size", "engine", "create"] {
                if let line = lines[key] { reader.error(line, "'\(key)' does not apply to an rbd device") }
            }
            device.lines = lines
            diagnostics.append(reader.diagnostics)
            return device
        }
        for key in ["ceph-conf", "ceph-id"] {
            if let line = lines[key] { reader.error(line, "'\(key)' applies only to an rbd device") }
        }
        switch (path, ram) {
        case (let path?, nil):
            device.source = .path(path)
        case (nil, let bytes?):
            device.source = .ram(bytes: bytes)
            // A RAM disk has no underlying file to slice, cache or create.
            for key in ["offset", "size", "engine", "create"] {
                if let line = lines[key] { reader.error(line, "'\(key)' does not apply to a ram device") }
            }
        case (.some, .some):
            reader.error(lines["ram"] ?? section.line, "\(title) has both path and ram; use one")
        case (nil, nil):
            if lines["path"] == nil && lines["ram"] == nil {
                reader.error(section.line, "\(title) needs a path, ram or rbd")
            }
        }
        // Capacity is counted in blocks, and O_DIRECT wants aligned offsets.
        let blockSize = UInt64(device.effectiveBlockSize)
        var sizes = [("offset", device.offset)]
        if let size = device.size { sizes.append(("size", size)) }
        if let ram { sizes.append(("ram", ram)) }
        for (key, value) in sizes {
            guard let line = lines[key] else { continue }
            if key != "offset" && value == 0 {
                reader.error(line, "'\(key)' must be greater than 0")
            } else if value % blockSize != 0 {
                reader.error(line, "'\(key)' (\(value) bytes) must be a multiple of the block size (\(blockSize) bytes)")
            }
        }
        if let size = device.size, device.offset.addingReportingOverflow(size).overflow {
            reader.error(lines["size"] ?? section.line, "offset + size is too large")
        }
        if device.create, path != nil, device.size == nil, let line = lines["create"] {
            reader.error(line, "'create yes' needs a size for the new file")
        }
        device.lines = lines
        diagnostics.append(reader.diagnostics)
        return device
    }
}
