import ArgumentParser
import BumpIngest
import BumpStore
import Foundation

/// Options every store command shares.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The SQLite store (default streetbump.sqlite; config key db, env STREETBUMP_DB).")
    var db: String?

    /// The store path in effect: flag, environment, config file, default.
    var path: String { db ?? Configuration.current.string("db") ?? "streetbump.sqlite" }

    /// Opens the store, creating it when it does not exist (commands that put data in).
    func open() throws -> TraceStore { try TraceStore(path: path) }

    /// Opens a store that must exist already (commands that read or act on what is stored):
    /// a mistyped path is an error, not a new empty store that answers "nothing".
    func openExisting() throws -> TraceStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure("no store at \(path): check --db (config key db, env STREETBUMP_DB), or ingest traces first")
        }
        return try open()
    }
}

/// A command that cannot go on, said plainly (exit 1, without the usage text a flag error gets).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Options that shape what goes into the store (ingest, stream). Each may also come from the
/// config file or the environment (see `Configuration`).
struct PipelineOptions: ParsableArguments {
    @Option(help: "CRS of stored coordinates, e.g. EPSG:2249 (Boston, ftUS) or EPSG:26986; default: the UTM zone of the data. Fixed when the store is created. (crs, STREETBUMP_CRS)")
    var crs: String?

    @Option(help: "Metres around each trip's start and end within which nothing is stored; 0 disables. Default 200. (privacy_trim, STREETBUMP_PRIVACY_TRIM)")
    var privacyTrim: Double?

    @Option(help: "Cluster radius in metres, default 8. (radius, STREETBUMP_RADIUS)")
    var radius: Double?

    @Option(help: "Minimum speed in m/s for a bump to count, default 2.5. (min_speed, STREETBUMP_MIN_SPEED)")
    var minSpeed: Double?

    /// Settings in effect: flags, then environment, then config file, then defaults; validated.
    func settings() throws -> IngestSettings {
        let config = Configuration.current
        var s = IngestSettings()
        s.crs = crs ?? config.string("crs")
        s.privacyTrim = try privacyTrim ?? config.number("privacy_trim") ?? s.privacyTrim
        s.radius = try radius ?? config.number("radius") ?? s.radius
        s.detector.minSpeed = try minSpeed ?? config.number("min_speed") ?? s.detector.minSpeed
        if s.privacyTrim < 0 { throw ValidationError("privacy trim must be 0 or more metres, got \(s.privacyTrim)") }
        if !(2...50).contains(s.radius) { throw ValidationError("cluster radius must be between 2 and 50 metres, got \(s.radius)") }
        if s.detector.minSpeed < 0 { throw ValidationError("minimum speed must be 0 or more m/s") }
        return s
    }
}
