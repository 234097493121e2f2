// swift-tools-version: 6.3
// Per-stage benchmarks with ordo-one/benchmark: throughput, allocations and peak memory of
// each stage of the pipeline, with allocation thresholds in Thresholds/ that
// `make bench-check` holds every change to. (`make bench` measures whole processes.)
import PackageDescription

let package = Package(
    name: "streetbump-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "streetbump", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "Stages",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "BumpCore", package: "streetbump"),
                .product(name: "BumpGeo", package: "streetbump"),
                .product(name: "BumpStore", package: "streetbump"),
                .product(name: "BumpIngest", package: "streetbump"),
            ],
            path: "Benchmarks/Stages",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
