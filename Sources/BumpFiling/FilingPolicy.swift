import BumpCore
import BumpStore
import Foundation

/// Which clusters get a request now. Pure: it sees the clusters and the outbox, and returns
/// the new outbox entries; the store's constraints make sure no decision can double-file.
public enum FilingPolicy {
    /// A cluster that might be filed, with what the decision needs beyond the cluster itself.
    public struct Candidate: Sendable {
        public var cluster: ClusterRecord
        /// Start times (epoch ms) of the cluster's events with their trip ids; needed only for
        /// clusters whose last request was closed (to see whether the pothole came back).
        public var eventTimes: [(trip: Int64, t: Double)]

        public init(cluster: ClusterRecord, eventTimes: [(trip: Int64, t: Double)] = []) {
            self.cluster = cluster
            self.eventTimes = eventTimes
        }
    }

    /// Why a cluster is (or is not) filed, for `file --dry-run` and the logs.
    public struct Decision: Sendable {
        public var clusterID: Int64
        public var entry: FilingRecord?
        public var reason: String
    }

    /// Whether the cluster is one we would file (ignoring the outbox).
    public static func qualifies(_ c: ClusterRecord, settings: FilingSettings) -> Bool {
        if c.state == "rejected" || c.state == "known_asset" { return false }
        if c.state == "confirmed" { return true }
        return c.cls == .pothole && c.confidence >= settings.minConfidence
    }

    /// New outbox entries for `candidates`, given every existing filing. Candidates are taken
    /// most confident first, so of two nearby clusters the stronger one is filed and the other
    /// linked to it.
    /// `rejected`: spots staff rejected; a cluster at one (`DecisionSpot`) is never filed, even under a new id.
    public static func decide(_ candidates: [Candidate], filings: [FilingRecord], settings: FilingSettings,
                              rejected: [(lat: Double, lon: Double)] = [],
                              describe: (ClusterRecord, _ generation: Int, _ previous: FilingRecord?, _ reference: String) -> String,
                              now: Date) -> [Decision] {
        var byCluster: [Int64: [FilingRecord]] = [:]
        for f in filings { byCluster[f.clusterID, default: []].append(f) }
        var live = filings.filter { FilingState.live.contains($0.state) }
        var decisions: [Decision] = []
        let ordered = candidates.sorted { ($0.cluster.confidence, $1.cluster.id) > ($1.cluster.confidence, $0.cluster.id) }
        for candidate in ordered {
            let c = candidate.cluster
            guard qualifies(c, settings: settings) else { continue }
            if c.state != "confirmed", DecisionSpot.covers(rejected, (c.lat, c.lon)) {
                decisions.append(Decision(clusterID: c.id, entry: nil, reason: "staff rejected a cluster at this spot"))
                continue
            }
            let own = (byCluster[c.id] ?? []).sorted { $0.generation < $1.generation }
            if let l = own.last(where: { FilingState.live.contains($0.state) }) {
                decisions.append(Decision(clusterID: c.id, entry: nil, reason: "already \(l.state.rawValue) (filing \(l.id))"))
                continue
            }
            var previous: FilingRecord?
            // A pothole fixed under another cluster id (re-clustering renumbered it) counts as this one's history.
            let history = own.last ?? nearest(filings.filter { $0.state == .closed }, to: c, within: settings.nearbyRadius)?.filing
            if let last = history, !(last.state == .cancelled && c.state == "confirmed") {
                guard last.state == .closed, let closedAt = last.closedAt else {
                    decisions.append(Decision(clusterID: c.id, entry: nil, reason: "filing \(last.id) was \(last.state.rawValue)"))
                    continue
                }
                let since = (closedAt + settings.reopenGraceDays * 86_400) * 1_000
                let trips = Set(candidate.eventTimes.filter { $0.t > since }.map(\.trip))
                guard trips.count >= settings.reopenMinTrips else {
                    decisions.append(Decision(clusterID: c.id, entry: nil, reason: "request \(last.serviceRequestID ?? "?") closed; \(trips.count) trips hit it after the grace period"))
                    continue
                }
                previous = last
            }
            let generation = (own.last?.generation ?? 0) + 1
            var entry = FilingRecord.new(
                clusterID: c.id, generation: generation, endpoint: settings.endpointName,
                serviceCode: settings.serviceCode, x: c.x, y: c.y, lat: c.lat, lon: c.lon, severity: c.summary.severity,
                description: "", origin: c.state == "confirmed" ? "staff" : "auto", previousRequestID: previous?.serviceRequestID)
            if let near = nearest(live, to: c, within: settings.nearbyRadius) {
                guard let id = near.filing.serviceRequestID else {
                    decisions.append(Decision(clusterID: c.id, entry: nil, reason: "waits for the request of cluster \(near.filing.clusterID), \(Int(near.distance.rounded())) m away, to get its id"))
                    continue
                }
                entry.state = .linked
                entry.serviceRequestID = id
                entry.description = "Linked to request \(id) of cluster \(near.filing.clusterID), \(Int(near.distance.rounded())) m away."
                decisions.append(Decision(clusterID: c.id, entry: entry, reason: "links to request \(id), \(Int(near.distance.rounded())) m away"))
            } else {
                entry.description = describe(c, generation, previous, entry.reference)
                decisions.append(Decision(clusterID: c.id, entry: entry, reason: previous == nil ? "new pothole" : "back after request \(previous?.serviceRequestID ?? "?") was closed"))
            }
            live.append(entry)
        }
        return decisions
    }

    /// The closest of `filings` within `radius` metres of the cluster.
    static func nearest(_ filings: [FilingRecord], to c: ClusterRecord, within radius: Double) -> (filing: FilingRecord, distance: Double)? {
        var best: (FilingRecord, Double)?
        for f in filings where f.clusterID != c.id {
            let d = LocalGeodesy.distance((c.lat, c.lon), (f.lat, f.lon))
            if d <= radius, d < (best?.1 ?? .infinity) { best = (f, d) }
        }
        return best
    }
}
