// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Targe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "targe", targets: ["targe"]),
        // For the libFuzzer package in Fuzz/, which depends on this one by path.
        .library(name: "ISCSI", targets: ["ISCSI"]),
        .library(name: "SCSI", targets: ["SCSI"]),
        .library(name: "Config", targets: ["Config"]),
        // For Fuzz/ (FuzzConnection drives a whole connection against a RAM LU).
        .library(name: "ISCSITarget", targets: ["ISCSITarget"]),
        .library(name: "DeviceServer", targets: ["DeviceServer"]),
        .library(name: "Storage", targets: ["Storage"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        // Hardware CRC32C (SSE4.2) with a portable fallback; iSCSI digests sit on the data path.
        .target(name: "CCRC32C"),
        // Linux calls Swift's Glibc module lacks (preadv2 flags, O_DIRECT, ioctls, prctl).
        .target(name: "CSystemShims"),
        // librbd and librados, loaded at run time (dlopen): built against Debian's librbd-dev
        // and librados-dev headers, while the binary (and the appliance image) need Ceph's
        // libraries only on a host that serves an RBD image.
        .target(name: "CRBD", linkerSettings: [.linkedLibrary("dl")]),
        // libcap for the privilege drop (capability sets, bounding set via prctl).
        .systemLibrary(name: "CLibcap", path: "Sources/CLibcap"),
        // libaio for the `aio` storage engine (io_submit/io_getevents with O_DIRECT).
        .systemLibrary(name: "CLibaio", path: "Sources/CLibaio"),
        // iSCSI names (RFC 7143 section 4.2.7) and text from the network made safe to show:
        // shared by the protocol (login) and the config.
        .target(name: "ISCSINames"),
        .target(name: "ISCSI", dependencies: [
            "CCRC32C", "ISCSINames",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "SCSI"),
        .target(name: "Config", dependencies: ["ISCSINames"]),
        .target(name: "Storage", dependencies: [
            "CSystemShims", "CLibaio", "CRBD",
            .product(name: "Atomics", package: "swift-atomics"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // The logical unit as a device server: CDB decoding in order, storage calls, sense data
        // and residuals for each command a transport hands it.
        .target(name: "DeviceServer", dependencies: [
            "SCSI", "Storage",
            .product(name: "Atomics", package: "swift-atomics"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The iSCSI target over SwiftNIO: connections (a state machine per connection), sessions
        // and their command windows, the running catalog of targets and LUs, the control socket.
        .target(name: "ISCSITarget", dependencies: [
            "ISCSI", "ISCSINames", "SCSI", "Storage", "Config", "DeviceServer", "CSystemShims",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Appliance", dependencies: [
            "Config", "CLibcap", "CSystemShims", "Storage",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "targe", dependencies: [
            "ISCSITarget", "DeviceServer", "Config", "Appliance", "Storage", "CSystemShims",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "ISCSITests", dependencies: ["ISCSI"]),
        .testTarget(name: "SCSITests", dependencies: ["SCSI"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config"]),
        // Test doubles for storage (FaultInjectingDevice), shared by the test targets; in no product.
        .target(name: "StorageTestSupport", dependencies: [
            "Storage",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
        ], path: "Tests/StorageTestSupport"),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "StorageTestSupport"]),
        .testTarget(name: "DeviceServerTests", dependencies: ["DeviceServer", "SCSI", "Storage",
                                                              .product(name: "NIOCore", package: "swift-nio"),
                                                              .product(name: "NIOPosix", package: "swift-nio"),
                                                              .product(name: "NIOEmbedded", package: "swift-nio")]),
        .testTarget(name: "ISCSITargetTests", dependencies: ["ISCSITarget", "DeviceServer", "Storage", "StorageTestSupport",
                                                        .product(name: "NIOCore", package: "swift-nio"),
                                                        .product(name: "NIOPosix", package: "swift-nio"),
                                                        .product(name: "NIOEmbedded", package: "swift-nio"),
                                                        .product(name: "NIOHTTP1", package: "swift-nio")]),
        .testTarget(name: "ApplianceTests", dependencies: ["Appliance", "Storage", "Config"]),
        .testTarget(name: "EndToEndTests", dependencies: ["ISCSI"]),
    ]
)
