// swift-tools-version: 6.2
// libFuzzer harnesses for every reader, built by `make fuzz` with -sanitize=fuzzer,address.
// A package of its own so `make test` never builds them.
import PackageDescription

let package = Package(
    name: "streetbump-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "streetbump", path: "../..")],
    targets: [
        // An upload body: gzip or not, any single-file format, through detection.
        .executableTarget(
            name: "FuzzUpload", dependencies: [.product(name: "BumpIngest", package: "streetbump")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // A file on disk read as ingest reads it: zip exports, gzip, every format.
        .executableTarget(
            name: "FuzzArchive", dependencies: [.product(name: "BumpIngest", package: "streetbump")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
