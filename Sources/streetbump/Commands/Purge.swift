import ArgumentParser
import BumpIngest
import BumpStore
import Foundation

/// `streetbump purge`: a resident's deletion request (`--trip`) or the retention rule
/// (`--older-than`, default from the config's `retention_days`).
struct Purge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete a trip (events, coverage, fixes) or every trip stored more than N days ago, then re-cluster.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var pipeline: PipelineOptions
    @Option(help: "Name of a trip to delete (repeatable).")
    var trip: [String] = []
    @Option(name: .customLong("older-than"), help: "Delete trips stored more than this many days ago (config retention_days).")
    var olderThan: Double?

    func run() throws {
        // The setting is held to what `serve` accepts (above 0); a flag says what it means.
        let days = try olderThan ?? (trip.isEmpty ? Configuration.current.retentionDays() : nil)
        guard !trip.isEmpty || days != nil else {
            throw ValidationError("name a trip with --trip, or an age with --older-than (or set retention_days)")
        }
        let db = try store.openExisting()
        var total = PurgeResult()
        var missing: [String] = []
        for name in trip {
            let r = try db.purgeTrip(name: name)
            if r.trips == 0 { missing.append(name) }
            total.trips += r.trips
            total.events += r.events
        }
        if let days {
            guard days >= 0 else { throw ValidationError("--older-than must be a number of days, not \(days)") }
            let r = try db.purgeTrips(storedBefore: Date().addingTimeInterval(-days * 86_400))
            total.trips += r.trips
            total.events += r.events
        }
        let changes = try ClusterUpdater.update(store: db, settings: try pipeline.settings())
        var err = ByteWriter.standardError()
        try err.write("purged \(total.trips) trips, \(total.events) events; clusters now \(changes.total) (\(changes.potholes) potholes)\n")
        for name in missing { try err.write("warning: no trip named '\(name)'\n") }
        try err.flush()
        if !missing.isEmpty && total.trips == 0 { throw ExitCode(1) }
    }
}
