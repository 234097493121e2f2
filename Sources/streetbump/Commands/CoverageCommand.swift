import ArgumentParser
import BumpIngest

/// `streetbump coverage export`: where trips drove, as a grid for GIS.
struct CoverageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coverage", abstract: "Where the data comes from: metres driven, trips and devices per grid square.",
        subcommands: [Export.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export the coverage grid as GeoJSON polygons (RFC 7946, WGS84) or CSV (CRS and WGS84 centres).")
        @OptionGroup var store: StoreOptions
        @Option(help: "geojson or csv.")
        var format: ExportOutput.Format = .geojson
        @Option(help: "Square edge in metres (default 100; config coverage_cell).")
        var cell: Double?
        @Option(help: "Output file (default: stdout).")
        var out: String?

        func run() throws {
            let size = try cell ?? Configuration.current.number("coverage_cell") ?? 100
            guard CoverageExport.sizes.contains(size) else { throw ValidationError("--cell must be 5 to 100000 metres, not \(size)") }
            guard let export = try CoverageExport(store: try store.openExisting(), size: size) else {
                throw CommandFailure("the store holds no trips yet: ingest some first")
            }
            try ExportOutput.write(format == .csv ? export.csv() : export.geoJSON(), to: out, what: "\(export.squares.count) squares of \(Int(size)) m")
        }
    }
}
