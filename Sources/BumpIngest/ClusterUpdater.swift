import BumpCore
import BumpGeo
import BumpStore
import Foundation

/// What a re-clustering changed.
public struct ClusterChanges: Sendable, Equatable {
    public var total = 0
    public var created = 0
    public var updated = 0
    public var removed = 0
    public var potholes = 0
}

/// Re-clusters every stored event and classifies each cluster.
///
/// Clusters are a function of the set of events (see `EventClustering`), so the order trips
/// arrived in does not matter. A cluster keeps its id (and review state) when most of its
/// events stay together; new groups get new ids, and take the review state of decided clusters
/// that are gone into them when those agree and are most of their events.
public enum ClusterUpdater {
    public static func update(store: TraceStore, settings: IngestSettings) throws -> ClusterChanges {
        guard let crs = try store.setting("crs") else { return ClusterChanges() }
        let transformer = try CRSTransformer(to: crs)
        var changes = ClusterChanges()
        try store.updateClusters { snapshot in
            let result = try recluster(snapshot, transformer: transformer, settings: settings)
            changes = result.changes
            return (result.clusters, result.assignments)
        }
        return changes
    }

    static func recluster(_ snapshot: TraceStore.ClusterSnapshot, transformer: CRSTransformer, settings: IngestSettings) throws
        -> (clusters: [ClusterRecord], assignments: [(event: Int64, cluster: Int64)], changes: ClusterChanges)
    {
        let m = transformer.metresPerUnit
        let points = snapshot.points.filter { !($0.accuracy > settings.maxEventAccuracy) }
        let clusterPoints = points.map { clusterPoint(x: $0.x, y: $0.y, accuracy: $0.accuracy, key: $0.key, metresPerUnit: m) }
        let scaled = snapshot.edits.map { edit -> ClusterEdit in
            switch edit {
            case let .merge(a, b): .merge(Spot(x: a.x * m, y: a.y * m), Spot(x: b.x * m, y: b.y * m))
            case let .split(a, b): .split(Spot(x: a.x * m, y: a.y * m), Spot(x: b.x * m, y: b.y * m))
            }
        }
        let clusters = EventClustering.apply(
            scaled, to: EventClustering.cluster(clusterPoints, radius: settings.radius), points: clusterPoints, radius: settings.radius)

        // Identity: the biggest groups claim first the old id most of their events had, when
        // they hold most of the new group or most of the old cluster (else it is new).
        let oldStates = snapshot.states
        var oldSizes: [Int64: Int] = [:]
        for p in points { if let c = p.cluster { oldSizes[c, default: 0] += 1 } }
        var nextID = max(oldStates.keys.max() ?? 0, snapshot.highestID) + 1
        var taken = Set<Int64>()
        var ids = [Int64](repeating: 0, count: clusters.count)
        var votesOf = [[Int64: Int]](repeating: [:], count: clusters.count)
        var changes = ClusterChanges()
        for c in clusters.indices.sorted(by: { clusters[$0].members.count > clusters[$1].members.count }) {
            var votes: [Int64: Int] = [:]
            for m in clusters[c].members { if let old = points[m].cluster { votes[old, default: 0] += 1 } }
            votesOf[c] = votes
            let size = clusters[c].members.count
            let best = votes
                .filter { !taken.contains($0.key) && ($0.value * 2 > size || $0.value * 2 > oldSizes[$0.key, default: 0]) }
                .max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }
            if let best {
                ids[c] = best.key
                taken.insert(best.key)
                changes.updated += 1
            } else {
                ids[c] = nextID
                nextID += 1
                changes.created += 1
            }
        }
        changes.removed = oldStates.count - taken.count

        // Staff's decision stays with the defect: a cluster keeps its own. A new one takes the
        // decision of clusters that are gone (a trip bridged them into it) only when it is
        // mostly their events and they agree: a decision on a few hits must not carry a big
        // cluster staff never saw, and a decision whose cluster lives on stays with that one.
        func state(_ c: Int) -> String {
            let own = oldStates[ids[c]] ?? "candidate"
            guard own == "candidate" else { return own }
            var decided: [String: Int] = [:]
            for (old, count) in votesOf[c] where !taken.contains(old) && count * 2 > oldSizes[old, default: 0] {
                if let state = oldStates[old], state != "candidate" { decided[state, default: 0] += count }
            }
            guard decided.count == 1, let (state, count) = decided.first, count * 2 > clusters[c].members.count else { return own }
            return state
        }

        var records: [ClusterRecord] = []
        var assignments: [(event: Int64, cluster: Int64)] = []
        for (c, cluster) in clusters.enumerated() {
            let evidence = cluster.members.map { points[$0].evidence }
            let cells = Coverage.cells(aroundX: cluster.x, y: cluster.y, radius: settings.radius)
            let summary = ClusterSummary.of(events: evidence, passingTrips: try snapshot.passingTrips(cells: cells))
            let asset = nearestAsset(snapshot.known, x: cluster.x, y: cluster.y, metresPerUnit: m, within: settings.rules.knownAssetRadius)
            let verdict = ClusterClassifier.classify(summary, rules: settings.rules, knownAsset: asset.map { ($0.kind, $0.id) })
            let (x, y) = (cluster.x / m, cluster.y / m)
            let ll = (try? transformer.inverse(x: x, y: y)) ?? (lon: .nan, lat: .nan)
            records.append(ClusterRecord(
                id: ids[c], x: x, y: y, lat: ll.lat, lon: ll.lon, cls: verdict.cls, confidence: verdict.confidence,
                summary: summary, reasons: verdict.reasons, state: state(c), knownFeature: asset?.id))
            for mIndex in cluster.members { assignments.append((points[mIndex].id, ids[c])) }
            if verdict.cls == .pothole { changes.potholes += 1 }
        }
        changes.total = records.count
        return (records, assignments, changes)
    }

    /// An event as the clusterer weighs it: 1/accuracy², accuracy clamped so a wild value
    /// cannot zero or swamp it.
    static func clusterPoint(x: Double, y: Double, accuracy: Double, key: UInt64, metresPerUnit m: Double) -> ClusterPoint {
        let a = min(max(accuracy.isFinite ? accuracy : 1_000, 2), 1_000)
        return ClusterPoint(x: x * m, y: y * m, weight: 1 / (a * a), key: key)
    }

    /// What a merge did.
    public enum MergeOutcome: Sendable, Equatable {
        /// Merged; the id the merged cluster has now.
        case merged(Int64)
        /// A cluster does not exist (or it is the same one twice).
        case missing
        /// Too far apart (metres) to be one defect: nothing recorded.
        case tooFar(Double)
        /// Staff decided differently on the two (their states): one must be reopened first.
        case decidedDifferently(String, String)
    }

    /// The farthest apart (metres) two clusters staff merge may be: GPS scatter splits one
    /// defect over a few radii, not further (a mistyped id must not merge across the city).
    public static func maxMergeDistance(_ settings: IngestSettings) -> Double { 5 * settings.radius }

    /// Staff say clusters `id` and `other` are one defect: recorded, then re-clustered.
    public static func merge(store: TraceStore, settings: IngestSettings, _ id: Int64, with other: Int64, actor: String, at now: Date) throws -> MergeOutcome {
        guard id != other, let a = try store.cluster(id: id), let b = try store.cluster(id: other), let crs = try store.setting("crs") else { return .missing }
        let m = try CRSTransformer(to: crs).metresPerUnit
        let apart = ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot() * m
        guard apart <= maxMergeDistance(settings) else { return .tooFar(apart) }
        guard a.state == b.state || a.state == "candidate" || b.state == "candidate" else { return .decidedDifferently(a.state, b.state) }
        // An event of the other cluster, to find where its events went.
        let witness = try store.eventPositions(ofCluster: other).first?.key
        guard try store.editClusters(id, merging: other, splitAt: nil, detail: "with cluster \(other)", actor: actor, at: now) else { return .missing }
        _ = try update(store: store, settings: settings)
        var merged = id
        if let witness, let found = try store.clusterID(ofEvent: witness) {
            merged = found
        } else if let nearest = try store.clusterNearest(x: (a.x + b.x) / 2, y: (a.y + b.y) / 2) {
            merged = nearest
        }
        // Staff said the two are one defect: a decision on either is the decision on it.
        if let decided = [a.state, b.state].first(where: { $0 != "candidate" }) { try store.setClusterState(merged, decided) }
        return .merged(merged)
    }

    /// Staff say cluster `id` is two defects: its events are divided in two (2-means), the
    /// division recorded and applied. Returns the ids of the two parts; nil when there is no
    /// such cluster, or its events cannot be divided.
    public static func split(store: TraceStore, settings: IngestSettings, _ id: Int64, actor: String, at now: Date) throws -> [Int64]? {
        guard let crs = try store.setting("crs") else { return nil }
        let m = try CRSTransformer(to: crs).metresPerUnit
        let points = try store.eventPositions(ofCluster: id).map { clusterPoint(x: $0.x, y: $0.y, accuracy: $0.accuracy, key: $0.key, metresPerUnit: m) }
        guard let (a, b) = EventClustering.splitSeeds(points) else { return nil }
        let seeds = (Spot(x: a.x / m, y: a.y / m), Spot(x: b.x / m, y: b.y / m))
        let apart = (((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot() * 10).rounded() / 10
        guard try store.editClusters(id, merging: nil, splitAt: seeds, detail: "in two, \(apart) m apart", actor: actor, at: now) else { return nil }
        _ = try update(store: store, settings: settings)
        return [try store.clusterNearest(x: seeds.0.x, y: seeds.0.y), try store.clusterNearest(x: seeds.1.x, y: seeds.1.y)].compactMap { $0 }
    }

    private static func nearestAsset(_ known: [KnownFeature], x: Double, y: Double, metresPerUnit m: Double, within r: Double) -> KnownFeature? {
        var best: KnownFeature?
        var bestD = r * r
        for f in known {
            let dx = f.x * m - x, dy = f.y * m - y
            let d = dx * dx + dy * dy
            if d <= bestD {
                best = f
                bestD = d
            }
        }
        return best
    }
}
