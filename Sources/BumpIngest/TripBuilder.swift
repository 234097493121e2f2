import BumpCore
import BumpGeo
import BumpStore

/// Nothing is stored within `distance` metres of a trip's first or last fix, where people
/// live and work.
public struct PrivacyTrim: Sendable {
    /// Where the trip starts and ends: its first and last fix in time and, as a fix with a
    /// wrong clock (t = 0 from some phones) sorts far from where the drive began, also the
    /// first and last to arrive, and the first and last that agree with their neighbour (a
    /// stale fix from where the phone was before can come first). More ends only trim more.
    let ends: [(lat: Double, lon: Double)]
    let distance: Double

    /// `fixes` in arrival order.
    public init(fixes: [Fix], distance: Double) {
        var ends: [Fix] = []
        if let first = fixes.first, let last = fixes.last {
            ends = [first, last, fixes.min { $0.t < $1.t }!, fixes.max { $0.t < $1.t }!]
            let agreeing = fixes.indices.dropLast().filter { Self.agree(fixes[$0], fixes[$0 + 1]) }
            if let i = agreeing.first { ends.append(fixes[i]) }
            if let i = agreeing.last { ends.append(fixes[i + 1]) }
        }
        self.ends = ends.map { ($0.lat, $0.lon) }
        self.distance = distance
    }

    /// Whether two fixes in a row could both be right: no faster than 70 m/s between them
    /// (counting at least a second, as fixes come about once a second).
    static func agree(_ a: Fix, _ b: Fix) -> Bool {
        LocalGeodesy.distance((a.lat, a.lon), (b.lat, b.lon)) <= 70 * max(abs(b.t - a.t) / 1_000, 1)
    }

    /// Whether a point may be stored. Without fixes nothing can be placed, so nothing is kept.
    public func keeps(_ lat: Double, _ lon: Double) -> Bool {
        guard distance > 0 else { return true }
        guard !ends.isEmpty else { return false }
        return ends.allSatisfy { LocalGeodesy.distance($0, (lat, lon)) > distance }
    }
}

/// Turns one detected trip into what is stored: privacy-trimmed, projected events and the
/// coverage cells of its track. Batch ingest and the stream's trip close both end here.
public enum TripBuilder {
    /// `transformer` projects WGS84 to the store's CRS (units of `transformer.metresPerUnit`).
    public static func record(
        name: String, device: String?, events: [BumpEvent], track: [Fix], span: (start: Double, end: Double),
        stats: TripStats, privacyTrim: Double, transformer: CRSTransformer
    ) -> TripRecord {
        let fixes = track.sorted { $0.t < $1.t }
        let trim = PrivacyTrim(fixes: track, distance: privacyTrim)
        let kept = events.filter { $0.lat.isFinite && $0.lon.isFinite && trim.keeps($0.lat, $0.lon) }
        var lons = kept.map(\.lon), lats = kept.map(\.lat)
        let failed = Set(transformer.forward(lons: &lons, lats: &lats))
        var stored: [StoredEvent] = []
        for (i, e) in kept.enumerated() where !failed.contains(i) {
            stored.append(StoredEvent(event: e, x: lons[i], y: lats[i], key: ContentHash.eventKey(trip: name, t: e.t)))
        }
        return TripRecord(
            name: name, device: device, start: span.start.isFinite ? span.start : 0, end: span.end.isFinite ? span.end : 0,
            samples: stats.samples, fixes: stats.fixes, rate: stats.rate,
            trimmedEvents: events.count - stored.count, events: stored,
            coverage: coverage(sortedFixes: fixes, trim: trim, transformer: transformer))
    }

    /// Coverage of the trimmed track, in pieces: a trimmed stretch is never bridged.
    public static func coverage(sortedFixes fixes: [Fix], trim: PrivacyTrim, transformer: CRSTransformer) -> [CoverageCell] {
        let keptFixes = fixes.indices.filter { trim.keeps(fixes[$0].lat, fixes[$0].lon) }
        var lons = keptFixes.map { fixes[$0].lon }, lats = keptFixes.map { fixes[$0].lat }
        let failed = Set(transformer.forward(lons: &lons, lats: &lats))
        let m = transformer.metresPerUnit
        var coverage = Set<CoverageCell>()
        var piece: [Coverage.TrackPoint] = []
        for (j, f) in keptFixes.enumerated() {
            if j > 0 && f != keptFixes[j - 1] + 1 {
                coverage.formUnion(Coverage.cells(track: piece))
                piece.removeAll()
            }
            if !failed.contains(j) { piece.append((lons[j] * m, lats[j] * m, fixes[f].t, fixes[f].speed)) }
        }
        coverage.formUnion(Coverage.cells(track: piece))
        return Array(coverage)
    }
}
