// swift-tools-version: 6.2
import PackageDescription

// CI (CI=true) turns every warning into an error; local builds only warn.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
] + (Context.environment["CI"] == "true" ? [.treatAllWarnings(as: .error)] : [])

let package = Package(
    name: "streetbump",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "streetbump", targets: ["streetbump"]),
        .library(name: "BumpCore", targets: ["BumpCore"]),
        // For the fuzzers (Tests/Fuzz) and the stage benchmarks (Benchmarks/Package.swift).
        .library(name: "BumpIngest", targets: ["BumpIngest"]),
        .library(name: "BumpGeo", targets: ["BumpGeo"]),
        .library(name: "BumpStore", targets: ["BumpStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Pure core: parsing, orientation, filters, detection, simulation. No I/O, no system libraries.
        .target(
            name: "BumpCore",
            dependencies: [.product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: strict
        ),
        // PROJ (libproj-dev) for coordinate-system transforms.
        .systemLibrary(
            name: "CPROJ",
            path: "Sources/CPROJ",
            pkgConfig: "proj",
            providers: [.apt(["libproj-dev"]), .brew(["proj"])]
        ),
        .target(name: "BumpGeo", dependencies: ["CPROJ"], swiftSettings: strict),
        // SQLite store: schema, migrations, queries.
        .target(
            name: "BumpStore",
            dependencies: ["BumpCore", "Open311", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        // Open311 GeoReport v2: the wire model (JSON and XML) and a client for any endpoint.
        .target(name: "Open311", swiftSettings: strict),
        // Filing: the transactional outbox that turns pothole clusters into exactly one request each.
        .target(
            name: "BumpFiling",
            dependencies: ["BumpCore", "BumpStore", "Open311", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The HTTP side: the embedded Open311 endpoint (and, later, uploads and the review page).
        .target(
            name: "StreetBumpServer",
            dependencies: [
                "BumpStore",
                "BumpIngest",
                "BumpGeo",
                "Open311",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // zlib (zlib1g-dev) for gzip uploads.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        // The doors into the store: files, streams and uploads share this pipeline.
        .target(
            name: "BumpIngest",
            dependencies: ["BumpCore", "BumpGeo", "BumpStore", "CZlib"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "streetbump",
            dependencies: [
                "BumpCore",
                "BumpGeo",
                "BumpStore",
                "BumpIngest",
                "BumpFiling",
                "StreetBumpServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "BumpCoreTests", dependencies: ["BumpCore"], swiftSettings: strict),
        .testTarget(name: "BumpGeoTests", dependencies: ["BumpGeo"], swiftSettings: strict),
        .testTarget(name: "BumpStoreTests", dependencies: ["BumpStore"], swiftSettings: strict),
        .testTarget(name: "BumpIngestTests", dependencies: ["BumpIngest"], swiftSettings: strict),
        .testTarget(name: "StreetBumpServerTests", dependencies: ["StreetBumpServer", "BumpStore", "BumpIngest", "BumpCore"], swiftSettings: strict),
        .testTarget(name: "Open311Tests", dependencies: ["Open311", "StreetBumpServer", "BumpStore"], swiftSettings: strict),
        .testTarget(
            name: "BumpFilingTests",
            dependencies: ["BumpFiling", "StreetBumpServer", "BumpStore", "Open311"],
            swiftSettings: strict
        ),
        .testTarget(name: "StreetbumpCLITests", dependencies: ["BumpCore", "BumpStore"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
