import BumpCore
import GRDB

/// Trips that arrive as a stream: stored while they are still being driven (so nothing
/// detected is lost if the process dies), closed later with the same privacy trim and
/// coverage as a batch trip. While a trip is open its raw fixes are kept in `stream_fix`;
/// closing it deletes them.
extension TraceStore {
    /// What an open trip adds in one commit.
    public struct StreamTripUpdate: Sendable {
        public var name: String
        public var device: String?
        public var start: Double
        public var end: Double
        public var samples: Int
        public var fixes: Int
        public var rate: Double
        /// Events dropped so far in this run by the privacy trim around the trip's start: a running
        /// total, so that a trip sent again after a crash, counting from zero, is not counted twice.
        public var trimmedEvents: Int
        /// New events, projected; events already stored (same key) are skipped.
        public var events: [StoredEvent]
        /// New raw fixes, kept until the trip closes.
        public var newFixes: [Fix]
        /// Provisional coverage; replaced by the exact cells when the trip closes.
        public var coverage: [CoverageCell]

        public init(name: String, device: String?, start: Double, end: Double, samples: Int, fixes: Int, rate: Double,
                    trimmedEvents: Int, events: [StoredEvent], newFixes: [Fix], coverage: [CoverageCell]) {
            self.name = name
            self.device = device
            self.start = start
            self.end = end
            self.samples = samples
            self.fixes = fixes
            self.rate = rate
            self.trimmedEvents = trimmedEvents
            self.events = events
            self.newFixes = newFixes
            self.coverage = coverage
        }
    }

    /// Whether a trip of this name is stored, still open, and the time of its last row (ms).
    public func tripState(name: String) throws -> (open: Bool, end: Double)? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT open, end_ms FROM trip WHERE name = ?", arguments: [name]).map { ($0[0], $0[1]) }
        }
    }

    /// Writes one commit of open trips in a single transaction. Returns, per trip name, the
    /// events actually inserted (an event already stored under its key is not stored twice).
    public func commitStream(_ updates: [StreamTripUpdate]) throws -> [String: [StoredEvent]] {
        try pool.write { db in
            var inserted: [String: [StoredEvent]] = [:]
            let insertEvent = try db.cachedStatement(sql: TraceStore.insertEventSQL)
            // A fix already kept (a resent trip) is not kept twice.
            let insertFix = try db.cachedStatement(sql: "INSERT OR IGNORE INTO stream_fix(trip_id, t, lat, lon, speed, accuracy) VALUES (?, ?, ?, ?, ?, ?)")
            let insertCell = try db.cachedStatement(sql: "INSERT OR IGNORE INTO coverage(cell, direction, trip_id) VALUES (?, ?, ?)")
            let keyExists = try db.cachedStatement(sql: "SELECT 1 FROM event WHERE key = ?")
            // Cached: a fast replay commits thousands of times a second, and parsing SQL showed.
            let openTrip = try db.cachedStatement(sql: "SELECT id FROM trip WHERE name = ? AND open = 1")
            let updateTrip = try db.cachedStatement(sql: """
                UPDATE trip SET device = COALESCE(device, ?), start_ms = MIN(start_ms, ?), end_ms = MAX(end_ms, ?),
                    samples = MAX(samples, ?), fixes = MAX(fixes, ?), rate = ?, events = events + ?,
                    trimmed_events = MAX(trimmed_events, ?) WHERE id = ?
                """)
            for u in updates {
                let id: Int64
                if let existing = try Int64.fetchOne(openTrip, arguments: [u.name]) {
                    id = existing
                } else {
                    try db.execute(sql: """
                        INSERT INTO trip(name, device, source_hash, start_ms, end_ms, samples, fixes, rate, events, trimmed_events, open, stored_at)
                        VALUES (?, ?, NULL, ?, ?, 0, 0, 0, 0, 0, 1, CAST(strftime('%s', 'now') AS REAL))
                        """, arguments: [u.name, u.device, u.start, u.end])
                    id = db.lastInsertedRowID
                }
                var fresh: [StoredEvent] = []
                for s in u.events where try Bool.fetchOne(keyExists, arguments: [Int64(bitPattern: s.key)]) != true {
                    try Self.insert(s, tripID: id, with: insertEvent)
                    fresh.append(s)
                }
                for f in u.newFixes {
                    try insertFix.execute(arguments: [id, f.t, f.lat, f.lon, f.speed.finiteOrNil, f.accuracy.finiteOrNil])
                }
                for c in u.coverage { try insertCell.execute(arguments: [c.cell, c.direction, id]) }
                try updateTrip.execute(arguments: [u.device, u.start, u.end, u.samples, u.fixes, u.rate, fresh.count, u.trimmedEvents, id])
                inserted[u.name] = fresh
            }
            return inserted
        }
    }

    /// What a stream that picks up an open trip (left by a killed run) continues from: the
    /// last row time and counts committed, and the first fix kept and the earliest in time
    /// (where the trip began).
    public func openTripProgress(name: String) throws -> (end: Double, samples: Int, fixes: Int, firstFix: Fix?, earliestFix: Fix?)? {
        try pool.read { db in
            guard let r = try Row.fetchOne(db, sql: "SELECT id, end_ms, samples, fixes FROM trip WHERE name = ? AND open = 1", arguments: [name]) else {
                return nil
            }
            func fix(_ order: String) throws -> Fix? {
                try Row.fetchOne(db, sql: "SELECT t, lat, lon, speed, accuracy FROM stream_fix WHERE trip_id = ? ORDER BY \(order) LIMIT 1", arguments: [r[0] as Int64]).map {
                    Fix(t: $0[0], lat: $0[1], lon: $0[2], speed: $0[3] ?? .nan, accuracy: $0[4] ?? .nan)
                }
            }
            return (r[1], r[2], r[3], try fix("rowid"), try fix("t"))
        }
    }

    /// Trips left open (by a stream that stopped without closing them).
    public func openTrips() throws -> [(id: Int64, name: String)] {
        try pool.read { db in try Row.fetchAll(db, sql: "SELECT id, name FROM trip WHERE open = 1 ORDER BY id").map { ($0[0], $0[1]) } }
    }

    /// What closing an open trip needs: its events' positions and its fixes in arrival order.
    public func openTripData(name: String) throws -> (id: Int64, events: [(id: Int64, t: Double, lat: Double, lon: Double)], fixes: [Fix])? {
        try pool.read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM trip WHERE name = ? AND open = 1", arguments: [name]) else { return nil }
            let events = try Row.fetchAll(db, sql: "SELECT id, t, lat, lon FROM event WHERE trip_id = ?", arguments: [id]).map {
                (id: $0[0] as Int64, t: $0[1] as Double, lat: $0[2] as Double, lon: $0[3] as Double)
            }
            let fixes = try Row.fetchAll(db, sql: "SELECT t, lat, lon, speed, accuracy FROM stream_fix WHERE trip_id = ? ORDER BY rowid", arguments: [id]).map {
                Fix(t: $0[0], lat: $0[1], lon: $0[2], speed: $0[3] ?? .nan, accuracy: $0[4] ?? .nan)
            }
            return (id, events, fixes)
        }
    }

    /// A trip's stored counts.
    public func tripSummary(id: Int64) throws -> (samples: Int, events: Int, trimmedEvents: Int)? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT samples, events, trimmed_events FROM trip WHERE id = ?", arguments: [id]).map { ($0[0], $0[1], $0[2]) }
        }
    }

    /// Closes an open trip in one transaction: drops the events the privacy trim removes,
    /// replaces its provisional coverage by `coverage`, and deletes its raw fixes.
    public func closeTrip(id: Int64, removeEvents: [Int64], coverage: [CoverageCell]) throws {
        try pool.write { db in
            let delete = try db.cachedStatement(sql: "DELETE FROM event WHERE id = ?")
            for e in removeEvents { try delete.execute(arguments: [e]) }
            try db.cachedStatement(sql: "DELETE FROM coverage WHERE trip_id = ?").execute(arguments: [id])
            let insertCell = try db.cachedStatement(sql: "INSERT OR IGNORE INTO coverage(cell, direction, trip_id) VALUES (?, ?, ?)")
            for c in coverage { try insertCell.execute(arguments: [c.cell, c.direction, id]) }
            try db.cachedStatement(sql: "DELETE FROM stream_fix WHERE trip_id = ?").execute(arguments: [id])
            try db.cachedStatement(sql: "UPDATE trip SET open = 0, events = events - ?, trimmed_events = trimmed_events + ? WHERE id = ?")
                .execute(arguments: [removeEvents.count, removeEvents.count, id])
        }
    }
}
