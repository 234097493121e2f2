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
            if action == .knownAsset, let kind = assetKind {
                try db.execute(sql: "INSERT INTO known_feature(kind, x, y, lat, lon, source, ref) VALUES (?, ?, ?, ?, ?, 'staff', ?)",
                               arguments: [kind.rawValue, x, y, lat, lon, "cluster \(id)"])
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

    /// A cluster's review history, oldest first.
    public func reviews(cluster id: Int64) throws -> [ReviewRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT cluster_id, action, detail, actor, at FROM review_action WHERE cluster_id = ? ORDER BY id", arguments: [id])
                .map { ReviewRecord(clusterID: $0[0], action: $0[1], detail: $0[2], actor: $0[3], at: $0[4]) }
        }
    }

    /// Where staff rejected a cluster and did not reopen it since: a cluster there is never
    /// filed, even when re-clustering gave it a new id.
    public func rejectedSpots() throws -> [(lat: Double, lon: Double)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT r.lat, r.lon FROM review_action r
                WHERE r.action = 'reject' AND NOT EXISTS (
                    SELECT 1 FROM review_action later WHERE later.cluster_id = r.cluster_id AND later.id > r.id AND later.action = 'reopen')
                """).map { ($0[0], $0[1]) }
        }
    }
}

extension TraceStore {
    /// Distinct coverage cells (any direction), for drawing where trips drove.
    public func coveredCells(limit: Int) throws -> [Int64] {
        try pool.read { db in try Int64.fetchAll(db, sql: "SELECT DISTINCT cell FROM coverage LIMIT ?", arguments: [limit]) }
    }
}
