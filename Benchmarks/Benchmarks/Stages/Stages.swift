import Benchmark
import BumpCore
import BumpGeo
import BumpIngest
import BumpStore
import Foundation

/// One benchmark per pipeline stage, on a fixed simulated input built once per process.
/// Allocation counts are deterministic, so their thresholds are tight: a stage that starts
/// allocating per sample shows as a regression in `make bench-check`.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1,
        maxDuration: .seconds(10),
        maxIterations: 10,
        thresholds: [
            // Allocations: 2% or 50, whichever is larger; time and memory only loosely.
            .mallocCountTotal: BenchmarkThresholds(relative: [.p50: 2.0], absolute: [.p50: 50]),
            .wallClock: .relaxed,
            .peakMemoryResident: .relaxed,
        ])

    // Inputs (see Fixture): 6 trips x 5 min at 100 Hz = 181,473 rows, 7.6 MB of canonical CSV,
    // 18.0 MB of NDJSON; 1 M points for PROJ; 1 M events around 20,000 spots for clustering.
    let f = Fixture.shared

    Benchmark("parse canonical CSV") { benchmark in
        var sink = RowCount()
        var reader = TraceReader(format: .csv, source: "bench", defaultTrip: "bench")
        try Fixture.feed(f.csv, to: &reader, into: &sink)
        blackHole(sink.rows)
    }

    Benchmark("parse NDJSON") { benchmark in
        var sink = RowCount()
        var reader = TraceReader(format: .ndjson, source: "bench", defaultTrip: "bench")
        try Fixture.feed(f.ndjson, to: &reader, into: &sink)
        blackHole(sink.rows)
    }

    Benchmark("orientation filters and detection") { benchmark in
        var detector = TraceDetector(config: DetectorConfig())
        for (row, trip) in f.rows { detector.accept(row, trip: trip) }
        detector.finish()
        blackHole(detector.events.count)
    }

    Benchmark("PROJ batch transform") { benchmark in
        var lons = f.lons, lats = f.lats
        benchmark.startMeasurement()
        blackHole(f.transformer.forward(lons: &lons, lats: &lats).count)
    }

    Benchmark("clustering") { benchmark in
        blackHole(EventClustering.cluster(f.clusterPoints, radius: 8).count)
    }

    Benchmark("store writes") { benchmark in
        let path = Fixture.temporaryPath("store")
        defer { Fixture.remove(path) }
        let writer = try StoreWriter(store: try TraceStore(path: path), settings: Fixture.settings)
        benchmark.startMeasurement()
        for d in f.detected { blackHole(try writer.write(d).events) }
    }

    Benchmark("whole ingest") { benchmark in
        let path = Fixture.temporaryPath("ingest")
        defer { Fixture.remove(path) }
        let writer = try StoreWriter(store: try TraceStore(path: path), settings: Fixture.settings)
        benchmark.startMeasurement()
        for file in f.files { _ = try writer.write(try DetectedTrace.file(file, detector: DetectorConfig())) }
        blackHole(try ClusterUpdater.update(store: writer.store, settings: Fixture.settings).total)
    }
}

struct RowCount: TraceRowSink {
    var rows = 0
    mutating func accept(_ row: TraceRow, trip: Int) { rows += 1 }
}

/// The inputs: six simulated trips of five minutes at 100 Hz, as canonical CSV (one file per
/// trip, and all of it in memory), as NDJSON, and parsed; their detections; a million points.
/// Unchecked: benchmarks run one at a time, so the PROJ transformer is never used concurrently.
final class Fixture: @unchecked Sendable {
    static let shared = Fixture()
    static let settings: IngestSettings = {
        var s = IngestSettings()
        s.crs = "EPSG:26986"
        return s
    }()

    let csv: [UInt8]
    let ndjson: [UInt8]
    let rows: [(TraceRow, Int)]
    let files: [String]
    let detected: [DetectedTrace]
    let lons: [Double]
    let lats: [Double]
    let transformer: CRSTransformer
    let clusterPoints: [ClusterPoint]

    private init() {
        var config = SimulationConfig()
        config.trips = 6
        config.duration = 300
        config.rate = 100
        config.seed = 21
        let simulation = CitySimulation(config: config)
        let dir = Self.temporaryPath("traces")
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var csv = Array(TraceWriter.csvHeader.utf8), ndjson: [UInt8] = [], rows: [(TraceRow, Int)] = [], files: [String] = []
        for i in simulation.plans.indices {
            var sim = simulation.trip(i)
            var file = Array(TraceWriter.csvHeader.utf8)
            while let row = sim.next() {
                TraceWriter.appendCSV(row, to: &file)
                TraceWriter.appendNDJSON(row, trip: sim.plan.name, device: sim.plan.device, to: &ndjson)
                rows.append((row, i))
            }
            csv += file.dropFirst(TraceWriter.csvHeader.utf8.count)
            let path = "\(dir)/\(sim.plan.name).csv"
            _ = FileManager.default.createFile(atPath: path, contents: Data(file))
            files.append(path)
        }
        self.csv = csv
        self.ndjson = ndjson
        self.rows = rows
        self.files = files
        detected = files.map { try! DetectedTrace.file($0, detector: DetectorConfig()) }

        // A million points over Boston, and a million events around 20,000 spots.
        var random = SimRandom(seed: 7)
        lons = (0..<1_000_000).map { _ in random.uniform(-71.1, -71.0) }
        lats = (0..<1_000_000).map { _ in random.uniform(42.3, 42.4) }
        transformer = try! CRSTransformer(to: "EPSG:26986")
        let spots = (0..<20_000).map { _ in (x: random.uniform(0, 10_000), y: random.uniform(0, 10_000)) }
        clusterPoints = (0..<1_000_000).map { i in
            let s = spots[i % spots.count]
            return ClusterPoint(x: s.x + random.gaussian(0, 4), y: s.y + random.gaussian(0, 4), weight: 1, key: UInt64(i))
        }
    }

    static func feed(_ bytes: [UInt8], to reader: inout TraceReader, into sink: inout RowCount) throws {
        try bytes.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(offset + (1 << 20), all.count)
                try reader.consume(UnsafeRawBufferPointer(rebasing: all[offset..<end]), into: &sink)
                offset = end
            }
        }
        try reader.finish(into: &sink)
    }

    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("streetbump-bench-\(name)-\(UUID().uuidString)").path
    }

    static func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}
