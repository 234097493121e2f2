import Foundation
import GRDB

/// Where a filing stands. `queued` and `posting` are in flight; `filed` and `linked` are live
/// requests; `parked` waits for staff; `closed` means the city reports the work done.
public enum FilingState: String, Sendable, CaseIterable {
    case queued, posting, filed, linked, parked, closed, cancelled

    /// States in which the cluster must not get another request.
    public static let live: [FilingState] = [.queued, .posting, .filed, .linked, .parked]
}

/// One row of the filing outbox: the intent to have exactly one service request for one
/// generation of one cluster, and what became of it.
public struct FilingRecord: Sendable, Equatable {
    public var id: Int64
    public var clusterID: Int64
    /// 1 for the first request; a pothole that comes back after a closed request gets the next.
    public var generation: Int
    /// A unique marker written into the description, so the request can be recognised on the server.
    public var reference: String
    public var endpoint: String
    public var serviceCode: String
    public var x: Double
    public var y: Double
    public var lat: Double
    public var lon: Double
    /// The cluster's severity (1-5) when queued, for attributes that ask for it.
    public var severity: Int
    public var state: FilingState
    /// auto (the filer chose it) or staff (filed by hand).
    public var origin: String
    public var attempts: Int
    /// Epoch seconds before which the filer leaves it alone (backoff).
    public var nextAttemptAt: Double
    public var serviceRequestID: String?
    public var token: String?
    /// The request's status on the server (open/closed) at the last sync.
    public var requestStatus: String?
    public var statusNotes: String?
    public var description: String
    public var lastError: String?
    public var previousRequestID: String?
    public var createdAt: Double
    public var updatedAt: Double
    public var filedAt: Double?
    public var closedAt: Double?
    /// Optimistic-concurrency counter: a save succeeds only over the version it read.
    public var version: Int

    /// A new outbox entry (the store assigns id and times).
    public static func new(clusterID: Int64, generation: Int, endpoint: String, serviceCode: String, x: Double, y: Double,
                           lat: Double, lon: Double, severity: Int, description: String, origin: String, previousRequestID: String?) -> FilingRecord {
        FilingRecord(
            id: 0, clusterID: clusterID, generation: generation, reference: "streetbump-" + UUID().uuidString.lowercased().prefix(13),
            endpoint: endpoint, serviceCode: serviceCode, x: x, y: y, lat: lat, lon: lon, severity: severity, state: .queued, origin: origin,
            attempts: 0, nextAttemptAt: 0, serviceRequestID: nil, token: nil, requestStatus: nil, statusNotes: nil,
            description: description, lastError: nil, previousRequestID: previousRequestID, createdAt: 0, updatedAt: 0,
            filedAt: nil, closedAt: nil, version: 0)
    }
}

extension TraceStore {
    /// Adds entries to the outbox in one transaction. An entry is skipped (not an error) when its
    /// cluster already has a live filing or the same generation exists: the UNIQUE constraint and
    /// this check together make "one live request per cluster" hold even with two filers racing.
    /// Returns the entries added, with their ids.
    public func enqueueFilings(_ entries: [FilingRecord], at now: Date) throws -> [FilingRecord] {
        try pool.write { db in
            var added: [FilingRecord] = []
            for var e in entries {
                let live = try Bool.fetchOne(db, sql: """
                    SELECT 1 FROM filing WHERE (cluster_id = ? AND state IN (\(Self.placeholders(FilingState.live.count))))
                       OR (cluster_id = ? AND generation = ?)
                    """, arguments: StatementArguments([e.clusterID] + FilingState.live.map(\.rawValue) + [e.clusterID, e.generation])) ?? false
                if live { continue }
                e.createdAt = now.timeIntervalSince1970
                e.updatedAt = e.createdAt
                try db.execute(sql: """
                    INSERT INTO filing(cluster_id, generation, reference, endpoint, service_code, x, y, lat, lon, severity, state, origin,
                        attempts, next_attempt_at, service_request_id, description, previous_request_id, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?)
                    """, arguments: [
                        e.clusterID, e.generation, e.reference, e.endpoint, e.serviceCode, e.x, e.y, e.lat, e.lon, e.severity,
                        e.state.rawValue, e.origin, e.serviceRequestID, e.description, e.previousRequestID, e.createdAt, e.updatedAt,
                    ])
                e.id = db.lastInsertedRowID
                try Self.log(db, e, "\(e.origin == "staff" ? "queued by staff" : "queued") for cluster \(e.clusterID) (generation \(e.generation))", at: now)
                added.append(e)
            }
            return added
        }
    }

    /// Saves a filing's new state if nobody changed it since it was read (its `version`), and
    /// logs `note`. Returns the saved record (version bumped), or nil when another filer won.
    public func saveFiling(_ f: FilingRecord, note: String, at now: Date) throws -> FilingRecord? {
        try pool.write { db in
            var saved = f
            saved.version = f.version + 1
            saved.updatedAt = now.timeIntervalSince1970
            try db.execute(sql: """
                UPDATE filing SET state = ?, attempts = ?, next_attempt_at = ?, service_request_id = ?, token = ?,
                    request_status = ?, status_notes = ?, description = ?, last_error = ?, updated_at = ?, filed_at = ?,
                    closed_at = ?, version = ?
                WHERE id = ? AND version = ?
                """, arguments: [
                    saved.state.rawValue, saved.attempts, saved.nextAttemptAt, saved.serviceRequestID, saved.token,
                    saved.requestStatus, saved.statusNotes, saved.description, saved.lastError, saved.updatedAt, saved.filedAt,
                    saved.closedAt, saved.version, f.id, f.version,
                ])
            guard db.changesCount == 1 else { return nil }
            try Self.log(db, saved, note, at: now)
            return saved
        }
    }

    /// Outbox entries, oldest first, optionally in some states only.
    public func filings(in states: [FilingState]? = nil) throws -> [FilingRecord] {
        try pool.read { db in
            if let states {
                return try Row.fetchAll(db, sql: "SELECT * FROM filing WHERE state IN (\(Self.placeholders(states.count))) ORDER BY id",
                                        arguments: StatementArguments(states.map(\.rawValue))).map(Self.filing(from:))
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM filing ORDER BY id").map(Self.filing(from:))
        }
    }

    public func filing(id: Int64) throws -> FilingRecord? {
        try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM filing WHERE id = ?", arguments: [id]).map(Self.filing(from:)) }
    }

    /// Every generation filed for a cluster, oldest first.
    public func filings(ofCluster id: Int64) throws -> [FilingRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM filing WHERE cluster_id = ? ORDER BY generation", arguments: [id]).map(Self.filing(from:))
        }
    }

    /// A filing's history, oldest first.
    public func filingLog(id: Int64) throws -> [(at: Double, state: String, note: String)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT at, state, note FROM filing_log WHERE filing_id = ? ORDER BY id", arguments: [id])
                .map { ($0[0], $0[1], $0[2]) }
        }
    }

    /// Sets a cluster's review state (candidate, confirmed, rejected). False when no such cluster.
    @discardableResult
    public func setClusterState(_ id: Int64, _ state: String) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "UPDATE cluster SET state = ? WHERE id = ?", arguments: [state, id])
            return db.changesCount > 0
        }
    }

    /// Times (epoch ms) and trips of a cluster's events, for deciding whether a fixed pothole is back.
    public func eventTimes(ofCluster id: Int64) throws -> [(trip: Int64, t: Double)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT trip_id, t FROM event WHERE cluster_id = ?", arguments: [id]).map { ($0[0], $0[1]) }
        }
    }

    private static func log(_ db: Database, _ f: FilingRecord, _ note: String, at now: Date) throws {
        try db.execute(sql: "INSERT INTO filing_log(filing_id, at, state, note) VALUES (?, ?, ?, ?)",
                       arguments: [f.id, now.timeIntervalSince1970, f.state.rawValue, note])
    }

    private static func filing(from r: Row) -> FilingRecord {
        FilingRecord(
            id: r["id"], clusterID: r["cluster_id"], generation: r["generation"], reference: r["reference"], endpoint: r["endpoint"],
            serviceCode: r["service_code"], x: r["x"], y: r["y"], lat: r["lat"], lon: r["lon"], severity: r["severity"],
            state: FilingState(rawValue: r["state"]) ?? .parked, origin: r["origin"], attempts: r["attempts"],
            nextAttemptAt: r["next_attempt_at"], serviceRequestID: r["service_request_id"], token: r["token"],
            requestStatus: r["request_status"], statusNotes: r["status_notes"], description: r["description"],
            lastError: r["last_error"], previousRequestID: r["previous_request_id"], createdAt: r["created_at"],
            updatedAt: r["updated_at"], filedAt: r["filed_at"], closedAt: r["closed_at"], version: r["version"])
    }
}
