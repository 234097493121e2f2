import BumpCore
import BumpGeo
import BumpStore

/// Turns one detected trip into what is stored: privacy-trimmed, projected events and the
/// coverage cells of its track.
public enum TripBuilder {
    /// `transformer` projects WGS84 to the store's CRS (units of `transformer.metresPerUnit`).
    public static func record(
        name: String, device: String?, events: [BumpEvent], track: [Fix], span: (start: Double, end: Double),
        stats: TripStats, privacyTrim: Double, transformer: CRSTransformer
    ) -> TripRecord {
        let fixes = track.sorted { $0.t < $1.t }
        let first = fixes.first.map { ($0.lat, $0.lon) }, last = fixes.last.map { ($0.lat, $0.lon) }
        /// Outside the circles around the trip's ends, where people live and work.
        func outsideTrim(_ lat: Double, _ lon: Double) -> Bool {
            guard privacyTrim > 0 else { return true }
            guard let first, let last else { return false }
            return LocalGeodesy.distance(first, (lat, lon)) > privacyTrim && LocalGeodesy.distance(last, (lat, lon)) > privacyTrim
        }
        let located = events.filter { $0.lat.isFinite && $0.lon.isFinite }
        let kept = located.filter { outsideTrim($0.lat, $0.lon) }
        let keptFixes = fixes.indices.filter { outsideTrim(fixes[$0].lat, fixes[$0].lon) }

        // Project events and track in two batches.
        var lons = kept.map(\.lon) + keptFixes.map { fixes[$0].lon }
        var lats = kept.map(\.lat) + keptFixes.map { fixes[$0].lat }
        let failed = Set(transformer.forward(lons: &lons, lats: &lats))
        var stored: [StoredEvent] = []
        for (i, e) in kept.enumerated() where !failed.contains(i) {
            stored.append(StoredEvent(event: e, x: lons[i], y: lats[i], key: ContentHash.eventKey(trip: name, t: e.t)))
        }
        // Coverage from the kept track, in pieces: a trimmed stretch is never bridged.
        let m = transformer.metresPerUnit
        var coverage = Set<CoverageCell>()
        var piece: [(x: Double, y: Double, t: Double)] = []
        for (j, f) in keptFixes.enumerated() {
            if j > 0 && f != keptFixes[j - 1] + 1 {
                coverage.formUnion(Coverage.cells(track: piece))
                piece.removeAll()
            }
            if !failed.contains(kept.count + j) { piece.append((lons[kept.count + j] * m, lats[kept.count + j] * m, fixes[f].t)) }
        }
        coverage.formUnion(Coverage.cells(track: piece))
        return TripRecord(
            name: name, device: device, start: span.start.isFinite ? span.start : 0, end: span.end.isFinite ? span.end : 0,
            samples: stats.samples, fixes: stats.fixes, rate: stats.rate,
            trimmedEvents: events.count - stored.count, events: stored, coverage: Array(coverage))
    }
}
