import BumpCore
import Foundation
import GRDB

/// What staff decide about a cluster.
public enum ReviewAction: String, Sendable, CaseIterable {
    /// A real pothole: file it now, whatever its confidence.
    case confirm
    /// Not a pothole (or not ours to fix): never filed, here or at this spot again.
    case reject
    /// A mapped asset (cover, hump, rail): added to the known features.
    case knownAsset = "known_asset"
    /// Back to the queue.
    case reopen

    /// The cluster state the action leaves.
    var state: String {
        switch self {
        case .confirm: "confirmed"
        case .reject: "rejected"
        case .knownAsset: "known_asset"
        case .reopen: "candidate"
        }
    }
}

/// Staff decisions hold at a spot, not a cluster id: re-clustering, merges and splits renumber
/// clusters, and a decision must still cover the defect under its new id.
public enum DecisionSpot {
    /// Metres within which a decision made at a spot covers a cluster.
    public static let radius = 10.0

    /// Whether `point` lies at (within `radius` of) any of `spots`.
    public static func covers(_ spots: [(lat: Double, lon: Double)], _ point: (lat: Double, lon: Double)) -> Bool {
        spots.contains { LocalGeodesy.distance(($0.lat, $0.lon), point) <= radius }
    }
}

/// One recorded review decision.
public struct ReviewRecord: Sendable, Equatable {
    public var clusterID: Int64
    public var action: String
    public var detail: String?
    public var actor: String
    /// Epoch seconds.
    public var at: Double
}

extension TraceStore {
    /// Records a decision and applies it, in one transaction: the cluster's state, and for a
    /// known asset a new known feature at the cluster. Returns false when there is no such cluster.
    public func review(cluster id: Int64, _ action: ReviewAction, detail: String?, assetKind: ClusterClass? = nil,
                       actor: String, at now: Date) throws -> Bool {
        try pool.write { db in
            guard let r = try Row.fetchOne(db, sql: "SELECT x, y, lat, lon FROM cluster WHERE id = ?", arguments: [id]) else { return false }
            let (x, y, lat, lon): (Double, Double, Double, Double) = (r[0], r[1], r[2], r[3])
            try db.execute(sql: "UPDATE cluster SET state = ? WHERE id = ?", arguments: [action.state, id])
            // Staff's own known features: one per cluster, and gone again when staff reopen it,
            // or a cluster at its spot under a new id.
            let ownAsset = "cluster \(id)"
            if action == .knownAsset {
                try db.execute(sql: "DELETE FROM known_feature WHERE source = 'staff' AND ref = ?", arguments: [ownAsset])
            } else if action == .reopen {
                let r = DecisionSpot.radius
                let dLat = r / 111_320.0, dLon = r / (111_320.0 * max(cos(lat * .pi / 180), 0.01))
                try db.execute(
                    sql: "DELETE FROM known_feature WHERE source = 'staff' AND (ref = ? OR (abs(lat - ?) <= ? AND abs(lon - ?) <= ?))",
                    arguments: [ownAsset, lat, dLat, lon, dLon])
            }
            if action == .knownAsset, let kind = assetKind {
                try db.execute(sql: "INSERT INTO known_feature(kind, x, y, lat, lon, source, ref) VALUES (?, ?, ?, ?, ?, 'staff', ?)",
                               arguments: [kind.rawValue, x, y, lat, lon, ownAsset])
            }
            if action == .reject || action == .knownAsset {
                // Not yet sent: never send it. (One in flight is checked again before any retry.)
                try db.execute(sql: """
                    UPDATE filing SET state = 'cancelled', version = version + 1, updated_at = ? WHERE cluster_id = ? AND state = 'queued'
                    """, arguments: [now.timeIntervalSince1970, id])
            }
            try db.execute(sql: "INSERT INTO review_action(cluster_id, action, detail, actor, at, lat, lon) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [id, action.rawValue, detail, actor, now.timeIntervalSince1970, lat, lon])
            return true
        }
    }

    /// A cluster's review history, oldest first: the decisions made on it and on the clusters
    /// merged into it (by staff, or by trips bridging them), which are gone under their own ids.
    public func reviews(cluster id: Int64) throws -> [ReviewRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                WITH RECURSIVE lineage(id) AS (
                    SELECT ? UNION SELECT l.old_id FROM cluster_lineage l JOIN lineage ON l.new_id = lineage.id)
                SELECT cluster_id, action, detail, actor, at FROM review_action WHERE cluster_id IN lineage ORDER BY id
                """, arguments: [id])
                .map { ReviewRecord(clusterID: $0[0], action: $0[1], detail: $0[2], actor: $0[3], at: $0[4]) }
        }
    }

    /// Where staff rejected a cluster and did not reopen a cluster at that spot since:
    /// a cluster there is never filed automatically. By spot, not id: re-clustering, merges and
    /// splits renumber clusters, and the reopen may come under the new id.
    public func rejectedSpots() throws -> [(lat: Double, lon: Double)] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, action, lat, lon FROM review_action WHERE action IN ('reject', 'reopen') ORDER BY id")
            var spots: [(id: Int64, lat: Double, lon: Double)] = []
            for r in rows {
                let (lat, lon): (Double, Double) = (r[2], r[3])
                if r[1] as String == "reject" {
                    spots.append((r[0], lat, lon))
                } else {
                    spots.removeAll { DecisionSpot.covers([(lat, lon)], ($0.lat, $0.lon)) }
                }
            }
            return spots.map { ($0.lat, $0.lon) }
        }
    }
}

extension TraceStore {
    /// Changes whenever trips (and so coverage) are added, grow or are deleted: what a cached
    /// coverage grid is checked against.
    public func coverageVersion() throws -> String {
        try pool.read { db in
            let r = try Row.fetchOne(db, sql: "SELECT COUNT(*), MAX(id), TOTAL(fixes) FROM trip")
            return "\(r?[0] as Int64? ?? 0)-\(r?[1] as Int64? ?? 0)-\(r?[2] as Double? ?? 0)"
        }
    }

    /// Each (coverage cell, trip) pair once, with the trip's device, handed to `body` one at a
    /// time: what the coverage grid sums, without holding millions of rows.
    public func forEachCoverageRow(_ body: (_ cell: Int64, _ trip: Int64, _ device: String?) throws -> Void) throws {
        try pool.read { db in
            let devices = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, device FROM trip").map { ($0[0] as Int64, $0[1] as String?) })
            // In key order (cell, direction, trip): a cell's rows come together, so a trip met in
            // two directions is told apart with a small set instead of a sort of every row.
            let rows = try Row.fetchCursor(db, sql: "SELECT cell, trip_id FROM coverage ORDER BY cell")
            var cell: Int64?
            var seen = Set<Int64>()
            while let r = try rows.next() {
                let (c, trip): (Int64, Int64) = (r[0], r[1])
                if c != cell {
                    cell = c
                    seen.removeAll(keepingCapacity: true)
                }
                if seen.insert(trip).inserted, let device = devices[trip] { try body(c, trip, device) }
            }
        }
    }
}

extension TraceStore {
    /// Records that clusters `id` and `other` are one defect (a merge) or that `id` is two (a
    /// split at the seeds `a`, `b`, in the store's CRS units). Applied by the next re-clustering.
    /// Returns false when a cluster does not exist.
    public func editClusters(_ id: Int64, merging other: Int64?, splitAt seeds: (a: Spot, b: Spot)?, detail: String?,
                             actor: String, at now: Date) throws -> Bool {
        try pool.write { db in
            guard let r = try Row.fetchOne(db, sql: "SELECT x, y, lat, lon FROM cluster WHERE id = ?", arguments: [id]) else { return false }
            let (x, y, lat, lon): (Double, Double, Double, Double) = (r[0], r[1], r[2], r[3])
            let kind: String, b: Spot, a: Spot
            if let other {
                guard let o = try Row.fetchOne(db, sql: "SELECT x, y FROM cluster WHERE id = ?", arguments: [other]) else { return false }
                (kind, a, b) = ("merge", Spot(x: x, y: y), Spot(x: o[0], y: o[1]))
            } else if let seeds {
                (kind, a, b) = ("split", seeds.a, seeds.b)
            } else {
                return false
            }
            try db.execute(sql: "INSERT INTO review_action(cluster_id, action, detail, actor, at, lat, lon) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [id, kind, detail, actor, now.timeIntervalSince1970, lat, lon])
            try db.execute(sql: "INSERT INTO cluster_edit(kind, ax, ay, bx, by, review_id) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [kind, a.x, a.y, b.x, b.y, db.lastInsertedRowID])
            // A merge is in both clusters' histories, whichever id the merged one keeps.
            if let other, let o = try Row.fetchOne(db, sql: "SELECT lat, lon FROM cluster WHERE id = ?", arguments: [other]) {
                try db.execute(sql: "INSERT INTO review_action(cluster_id, action, detail, actor, at, lat, lon) VALUES (?, 'merge', ?, ?, ?, ?, ?)",
                               arguments: [other, "with cluster \(id)", actor, now.timeIntervalSince1970, o[0], o[1]])
            }
            return true
        }
    }

    /// The positions (store CRS units) and accuracies of a cluster's events.
    public func eventPositions(ofCluster id: Int64) throws -> [(x: Double, y: Double, accuracy: Double, key: UInt64)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT x, y, accuracy, key FROM event WHERE cluster_id = ? ORDER BY key", arguments: [id])
                .map { ($0[0], $0[1], $0[2], UInt64(bitPattern: $0[3])) }
        }
    }

    static func clusterEdits(_ db: Database) throws -> [ClusterEdit] {
        try Row.fetchAll(db, sql: "SELECT kind, ax, ay, bx, by FROM cluster_edit ORDER BY id").map {
            let a = Spot(x: $0[1], y: $0[2]), b = Spot(x: $0[3], y: $0[4])
            return ($0[0] as String) == "merge" ? .merge(a, b) : .split(a, b)
        }
    }
}

extension TraceStore {
    /// The cluster an event (by key) belongs to now.
    public func clusterID(ofEvent key: UInt64) throws -> Int64? {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT cluster_id FROM event WHERE key = ?", arguments: [Int64(bitPattern: key)])
        }
    }

    /// The cluster whose centre is nearest (`x`, `y`) in CRS units.
    public func clusterNearest(x: Double, y: Double) throws -> Int64? {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT id FROM cluster ORDER BY (x - ?) * (x - ?) + (y - ?) * (y - ?) LIMIT 1", arguments: [x, x, y, y])
        }
    }
}

extension TraceStore {
    /// Clusters per class and review state, and filings per state, for `/metrics`.
    public func tallies() throws -> (clusters: [(cls: String, state: String, count: Int)], filings: [(state: String, count: Int)]) {
        try pool.read { db in
            let clusters = try Row.fetchAll(db, sql: "SELECT class, state, COUNT(*) FROM cluster GROUP BY class, state ORDER BY class, state")
                .map { (cls: $0[0] as String, state: $0[1] as String, count: $0[2] as Int) }
            let filings = try Row.fetchAll(db, sql: "SELECT state, COUNT(*) FROM filing GROUP BY state ORDER BY state")
                .map { (state: $0[0] as String, count: $0[1] as Int) }
            return (clusters, filings)
        }
    }
}
