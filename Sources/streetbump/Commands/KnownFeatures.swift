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
            abstract: "Import a GeoJSON (points, lines, polygons) or CSV (kind,lat,lon or kind,x,y with --layer-crs) layer, then re-label clusters; importing a file of the same name again replaces it.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var pipeline: PipelineOptions
        @Argument(help: "GeoJSON or CSV file.")
        var file: String
        @Option(name: .customLong("layer-crs"), help: "CRS of the file's coordinates when not WGS84 lon/lat, e.g. EPSG:2249.")
        var layerCRS: String?
        @Option(help: "Kind for every feature when the file has none: casting, speed_hump or rail_crossing.")
        var kind: ClusterClass?
        @Option(name: .customLong("name"), help: "The layer's name, default the file name: importing a layer of the same name again replaces it.")
        var layerName: String?

        func run() throws {
            if let kind, ![.casting, .speedHump, .railCrossing].contains(kind) {
                throw ValidationError("--kind must be casting, speed_hump or rail_crossing")
            }
            let (points, unlocated) = try KnownFeatureLayer.read(path: file, crs: layerCRS, defaultKind: kind)
            let settings = try pipeline.settings()
            let writer = try StoreWriter(store: try store.open(), settings: settings)
            // The layer is known by its name (the file's, unless given): importing it again
            // replaces it. Older versions named it without the extension. ("staff" is the
            // review page's own.)
            let fileName = file.split(separator: "/").last.map(String.init) ?? file
            let name = layerName ?? fileName
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name != "staff" else {
                throw ValidationError("--name must not be empty or 'staff' (the review page's own layer)")
            }
            let (n, replaced) = try KnownFeatureLayer.store(
                points, source: name, replacing: layerName == nil ? FileSystem.baseName(file) : nil, into: writer)
            let changes = try ClusterUpdater.update(store: writer.store, settings: settings)
            var err = ByteWriter.standardError()
            let counts = Dictionary(grouping: points, by: \.kind).map { "\($0.value.count) \($0.key.rawValue)" }.sorted().joined(separator: ", ")
            try err.write("imported \(n) known features from \(name) (\(counts); lines and outlines as points every \(Int(KnownFeatureLayer.lineSpacing)) m)"
                + (unlocated > 0 ? "; \(unlocated) features without a geometry left out" : "")
                + (replaced > 0 ? "; replaced the \(replaced) of an earlier import of \(name)" : "")
                + "; clusters re-labelled: \(changes.total), \(changes.potholes) potholes\n")
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
