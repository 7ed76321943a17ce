// swift-tools-version:6.0
// libFuzzer targets for Targe's parsers (see README.md here). Built only by `make fuzz` /
// `make fuzz-smoke` with the fuzzer and address sanitizers; not part of the main build.
import PackageDescription

let package = Package(
    name: "TargeFuzz",
    dependencies: [
        .package(name: "Targe", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // Helpers shared by the fuzz targets (input reader, invariants, a login authority that
        // can require CHAP, libFuzzer's driver).
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: [
            "CLibFuzzer",
            .product(name: "ISCSI", package: "Targe"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),  // CHAP responses (MD5)
        ]),
        // Each executable holds only a @_cdecl("LLVMFuzzerTestOneInput") function and no
        // top-level code, so libFuzzer's own main() is the program's entry point.
        .executableTarget(name: "FuzzPDU", dependencies: [
            "FuzzSupport",
            .product(name: "ISCSI", package: "Targe"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .executableTarget(name: "FuzzLoginText", dependencies: [
            "FuzzSupport",
            .product(name: "ISCSI", package: "Targe"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .executableTarget(name: "FuzzCDB", dependencies: [
            "FuzzSupport",
            .product(name: "SCSI", package: "Targe"),
        ]),
        .executableTarget(name: "FuzzConfig", dependencies: [
            "FuzzSupport",
            .product(name: "Config", package: "Targe"),
        ]),
        .executableTarget(name: "FuzzConnection", dependencies: [
            "FuzzSupport",
            .product(name: "ISCSI", package: "Targe"),
            .product(name: "ISCSITarget", package: "Targe"),
            .product(name: "DeviceServer", package: "Targe"),
            .product(name: "Storage", package: "Targe"),
            .product(name: "SCSI", package: "Targe"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
