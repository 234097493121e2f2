import ArgumentParser
import BumpIngest
import BumpStore

/// Options every store command shares.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The SQLite store.")
    var db = "streetbump.sqlite"

    func open() throws -> TraceStore { try TraceStore(path: db) }
}

/// Options that shape what goes into the store (ingest, stream).
struct PipelineOptions: ParsableArguments {
    @Option(help: "CRS of stored coordinates, e.g. EPSG:2249 (Boston, ftUS) or EPSG:26986; default: the UTM zone of the data. Fixed when the store is created.")
    var crs: String?

    @Option(help: "Metres around each trip's start and end within which nothing is stored (0 disables).")
    var privacyTrim = 200.0

    @Option(help: "Cluster radius in metres.")
    var radius = 8.0

    func validate() throws {
        if privacyTrim < 0 { throw ValidationError("--privacy-trim must be 0 or more metres") }
        if !(2...50).contains(radius) { throw ValidationError("--radius must be between 2 and 50 metres") }
    }

    var settings: IngestSettings {
        var s = IngestSettings()
        s.crs = crs
        s.privacyTrim = privacyTrim
        s.radius = radius
        return s
    }
}
