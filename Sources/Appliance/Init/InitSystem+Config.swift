#if canImport(Glibc)
import Glibc
#endif
import CSystemShims
import Config

/// Which config the service gets: the partition's, a first-boot default, or a fallback.
extension InitSystem {
    func chooseConfig() {
        var mounted = false
        let label = Appliance.configPartitionLabel
        if let selection = ConfigPartition.select(ConfigPartition.scan(), label: label) {
            do {
                try ConfigPartition.mount(device: selection.device, at: layout.configMount)
                diskMounts.append(layout.configMount)
                mounted = true
                console.say("config partition /dev/\(selection.device) (label \(label)) mounted at \(layout.configMount)")
                if !selection.ignored.isEmpty {
                    console.say("warning: also labelled \(label), ignored: \(selection.ignored.map { "/dev/\($0)" }.joined(separator: " "))")
                }
            } catch {
                console.say("warning: \(error)")
            }
        }

        configPartitionMounted = mounted
        let partitionPath = "\(layout.configMount)/\(Appliance.configFileName)"
        let fallbackPath = "\(layout.fallbackDirectory)/\(Appliance.configFileName)"
        let state: ConfigChoice.FileState = mounted ? ConfigChoice.state(ofFileAt: partitionPath) : .missing
        let choice = ConfigChoice.decide(partitionMounted: mounted, file: state, configPath: partitionPath,
                                         fallbackPath: fallbackPath)
        let dataDisk = DataDisk.first(among: DataDisk.scan()).map { "/dev/\($0)" }
        switch choice {
        case let .use(path):
            console.say("using \(path)")
        case let .writeDefault(path):
            if writeDefault(to: path, dataDisk: dataDisk) {
                console.say("first boot: wrote a default config to \(path) sharing \(dataDisk ?? "a 64 MiB RAM disk") as LUN 0")
            } else if writeDefault(to: fallbackPath, dataDisk: dataDisk) {
                // A full or read-only partition: serve the default from RAM rather than nothing.
                console.say("serving the default config from \(fallbackPath) instead")
                configPath = fallbackPath
                return
            }
        case let .fallback(path, reason):
            console.say("warning: \(reason)")
            if writeDefault(to: path, dataDisk: dataDisk) {
                console.say("serving the default config from \(path) (sharing \(dataDisk ?? "a 64 MiB RAM disk"))")
            }
        }
        configPath = choice.servedPath
    }

    /// Before an operator's start or restart: the partition's file is checked again, so a
    /// fixed config replaces the fallback, and a broken one never stops a working service.
    /// Returns false when the request should not go ahead.
    func recheckConfig() -> Bool {
        guard configPartitionMounted else { return true }
        let partitionPath = "\(layout.configMount)/\(Appliance.configFileName)"
        switch ConfigChoice.state(ofFileAt: partitionPath) {
        case .valid:
            if configPath != partitionPath {
                console.say("\(partitionPath) is valid now; the service will use it")
                configPath = partitionPath
                supervisor?.arguments = ["serve", "--config", configPath]
                publishDetail()
            }
            return true
        case .missing:
            return true
        case let .invalid(errors):
            console.say("\(partitionPath) is not usable; the service keeps its current config (\(configPath)):\n\(errors)")
            return supervisor?.childPID == nil && configPath != partitionPath
        }
    }

    func writeDefault(to path: String, dataDisk: String?) -> Bool {
        do {
            if let slash = path.lastIndex(of: "/") { try SystemFiles.makeDirectory(String(path[..<slash])) }
            let advertise = OEMStrings.advertisedPortal(in: OEMStrings.read())
            try ConfigWriter.writeAtomically(FirstBootConfig.text(dataDisk: dataDisk, advertise: advertise), to: path)
            if let advertise { console.say("discovery will report \(advertise) (the hypervisor's port forward)") }
            return true
        } catch {
            console.say("cannot write the default config: \(error)")
            return false
        }
    }
}
