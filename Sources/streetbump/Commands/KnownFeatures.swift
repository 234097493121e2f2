import ArgumentParser
import BumpCore
import BumpIngest
import BumpStore

/// `streetbump known-features import|list`: the city's mapped covers, humps and crossings.
struct KnownFeatures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "known-features",
        abstract: "Mapped castings, speed humps and rail crossings: clusters at one are labelled as it, never as potholes.",
        subcommands: [Import.self, List.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a GeoJSON (points) or CSV (kind,lat,lon or kind,x,y with --crs) layer, then re-label clusters.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var pipeline: PipelineOptions
        @Argument(help: "GeoJSON or CSV file.")
        var file: String
        @Option(name: .customLong("layer-crs"), help: "CRS of the file's coordinates when not WGS84 lon/lat, e.g. EPSG:2249.")
        var layerCRS: String?
        @Option(help: "Kind for every feature when the file has none: casting, speed_hump or rail_crossing.")
        var kind: ClusterClass?

        func run() throws {
            if let kind, ![.casting, .speedHump, .railCrossing].contains(kind) {
                throw ValidationError("--kind must be casting, speed_hump or rail_crossing")
            }
            let points = try KnownFeatureLayer.read(path: file, crs: layerCRS, defaultKind: kind)
            let settings = try pipeline.settings()
            let writer = try StoreWriter(store: try store.open(), settings: settings)
            let n = try KnownFeatureLayer.store(points, source: FileSystem.baseName(file), into: writer)
            let changes = try ClusterUpdater.update(store: writer.store, settings: settings)
            var err = ByteWriter.standardError()
            let counts = Dictionary(grouping: points, by: \.kind).map { "\($0.value.count) \($0.key.rawValue)" }.sorted().joined(separator: ", ")
            try err.write("imported \(n) known features (\(counts)); clusters re-labelled: \(changes.total), \(changes.potholes) potholes\n")
            try err.flush()
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List imported known features.")
        @OptionGroup var store: StoreOptions

        func run() throws {
            var out = ByteWriter.standardOutput()
            try out.write(pad(["id", "kind", "lat", "lon", "source", "ref"], [6, 13, 11, 12, 16, 10]))
            for f in try store.openExisting().knownFeatures() {
                try out.write(pad(["\(f.id)", f.kind.rawValue, fixed(f.lat, 6), fixed(f.lon, 6), f.source, f.ref ?? ""], [6, 13, 11, 12, 16, 10]))
            }
            try out.flush()
        }
    }
}
