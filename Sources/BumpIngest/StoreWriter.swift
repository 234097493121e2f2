import BumpCore
import BumpGeo
import BumpStore

/// What storing one input did.
public struct StoreOutcome: Sendable {
    public enum Status: Sendable, Equatable {
        case stored
        /// The same bytes were ingested before, from this path.
        case alreadyIngested(String)
    }
    public var status: Status
    public var trips = 0
    public var events = 0
    public var trimmedEvents = 0
    /// Accelerometer samples of the trips stored.
    public var samples = 0
    /// Trips the store already held (the same name, time and phone, from another file): not
    /// stored again, so their hits do not count twice.
    public var duplicateTrips: [String] = []
    /// Other trips that happen to have a stored trip's name (two phones' `2024-05-01.csv`,
    /// apps that number trips 1, 2, 3): stored under a new name, e.g. `1#2`.
    public var renamedTrips: [(from: String, to: String)] = []
    /// Each trip stored: its name, accelerometer samples, events kept and events trimmed.
    public var storedTrips: [(name: String, samples: Int, events: Int, trimmedEvents: Int)] = []
}

/// Writes detected traces into the store, one transaction per input: the serial end of
/// every door. Owns the store's projection (one PROJ transformer, used from one task).
public final class StoreWriter {
    public let store: TraceStore
    public let settings: IngestSettings
    private var transformer: CRSTransformer?

    public init(store: TraceStore, settings: IngestSettings) throws {
        self.store = store
        self.settings = settings
        if let stored = try store.setting("crs") {
            if let wanted = settings.crs, wanted != stored {
                throw StoreError(path: store.path, message: "the store's coordinates are in \(stored), but \(wanted) was asked for; use a new --db for another CRS")
            }
            transformer = try CRSTransformer(to: stored)
        } else if let wanted = settings.crs {
            transformer = try CRSTransformer(to: wanted)
            try store.setSetting("crs", wanted)
        }
    }

    /// The store's CRS and its transformer, choosing the UTM zone of `near` on first use.
    public func projection(near: (lat: Double, lon: Double)?) throws -> CRSTransformer? {
        if let transformer { return transformer }
        guard let near else { return nil }
        let crs = UTM.crs(lon: near.lon, lat: near.lat)
        let t = try CRSTransformer(to: crs)
        try store.setSetting("crs", crs)
        transformer = t
        return t
    }

    /// Whether a trip is the stored one of its name sent again: the phones, where both are
    /// named, agree and the two share at least half the shorter one's time (a re-export may
    /// add or cut a little). A trip without a time span counts as the same (a trip counted
    /// twice could make one trip's hits look like two trips' evidence); one whose times carry
    /// no date never does (see below).
    static func isSame(_ trip: DetectedTrace.Trip, _ stored: TraceStore.TripIdentity) -> Bool {
        if let a = trip.device, let b = stored.device, a != b { return false }
        let (start, end) = trip.span
        guard start.isFinite, end.isFinite else { return true }
        // Times without a date (a time of day, or time since the start) fall on 1970-01-01 and
        // cannot tell one day's drive from another's: never the same trip by time.
        let dateless = 2 * 86_400_000.0
        if start < dateless || stored.start < dateless { return false }
        let shared = min(end, stored.end) - max(start, stored.start)
        return shared >= 0.5 * min(end - start, stored.end - stored.start)
    }

    /// Stores one detected input (all or nothing). Inputs without a content hash (streams)
    /// pass `rememberSource: false`. `summary` makes the text kept with the source (an upload's answer).
    public func write(_ trace: DetectedTrace, rememberSource: Bool = true, summary: ((StoreOutcome) -> String)? = nil) throws -> StoreOutcome {
        let hash = trace.outcome.hash
        if rememberSource, let previous = try store.ingestedSource(hash: hash) {
            return StoreOutcome(status: .alreadyIngested(previous))
        }
        var outcome = StoreOutcome(status: .stored)
        let stored = try store.storedTrips(named: trace.trips.map(\.name))
        var taken = Set<String>()
        var fresh: [DetectedTrace.Trip] = []
        for var trip in trace.trips {
            // The name's stored trips include those renamed NAME#2, …: a renamed trip sent
            // again is the same trip too.
            let namesakes = stored[trip.name] ?? []
            if namesakes.contains(where: { Self.isSame(trip, $0.identity) }) || taken.contains(trip.name) {
                outcome.duplicateTrips.append(trip.name)
                continue
            }
            if namesakes.contains(where: { $0.name == trip.name }) {
                let name = try store.freeTripName(trip.name, excluding: taken)
                outcome.renamedTrips.append((trip.name, name))
                trip.name = name
            }
            taken.insert(trip.name)
            fresh.append(trip)
        }
        let firstFix = fresh.lazy.compactMap { $0.track.first }.first.map { ($0.lat, $0.lon) }
        var records: [TripRecord] = []
        if !fresh.isEmpty {
            guard let transformer = try projection(near: firstFix) else {
                // Not remembered as ingested: once the store has a CRS, the same file can go in.
                throw StoreError(path: trace.outcome.source, message: "no GPS fix anywhere in it, and the store has no CRS yet to place events in; ingest a file with positions first or pass --crs")
            }
            for trip in fresh {
                let r = TripBuilder.record(
                    name: trip.name, device: trip.device, events: trip.events, track: trip.track, span: trip.span,
                    stats: trip.stats, privacyTrim: settings.privacyTrim, transformer: transformer)
                outcome.events += r.events.count
                outcome.samples += r.samples
                outcome.trimmedEvents += r.trimmedEvents
                outcome.storedTrips.append((r.name, r.samples, r.events.count, r.trimmedEvents))
                records.append(r)
            }
        }
        outcome.trips = records.count
        let source = rememberSource
            ? SourceRecord(hash: hash, path: trace.outcome.source, bytes: trace.outcome.bytes,
                           rows: trace.outcome.stats.rows, rejectedRows: trace.outcome.stats.rejectedRows,
                           summary: summary?(outcome))
            : nil
        try store.ingest(source: source, trips: records)
        return outcome
    }
}
