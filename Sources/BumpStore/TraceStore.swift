import BumpCore
import GRDB

/// The streetbump store: one SQLite file (WAL) holding trips, events, coverage, clusters and
/// known features. Raw samples are never stored.
///
/// Thread-safe: GRDB's pool serialises writes and lets reads run beside them.
public final class TraceStore: Sendable {
    public let path: String
    let pool: DatabasePool

    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    public init(path: String) throws {
        self.path = path
        do {
            var config = Configuration()
            config.busyMode = .timeout(10)
            // WAL with synchronous=NORMAL cannot corrupt on a crash (a power cut may lose the
            // last commits, which a re-ingest restores); FULL would fsync every file's commit.
            // Checkpoints every 10,000 WAL pages (about 40 MB) rather than SQLite's 1,000: a
            // stream commits a few pages thousands of times, and copying them back that often
            // showed (1.26 GB replay: 4.8-5.0 s with the default, 4.2-4.3 s with this).
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 10000") }
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError(path: path, message: "cannot open the store: \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: trips, events, coverage, clusters, known features") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE source (
                    hash TEXT PRIMARY KEY, path TEXT NOT NULL, bytes INTEGER NOT NULL,
                    rows INTEGER NOT NULL, rejected_rows INTEGER NOT NULL, ingested_at TEXT NOT NULL);
                CREATE TABLE trip (
                    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, device TEXT,
                    source_hash TEXT REFERENCES source(hash) ON DELETE SET NULL,
                    start_ms REAL NOT NULL, end_ms REAL NOT NULL, samples INTEGER NOT NULL,
                    fixes INTEGER NOT NULL, rate REAL NOT NULL, events INTEGER NOT NULL,
                    trimmed_events INTEGER NOT NULL);
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY, trip_id INTEGER NOT NULL REFERENCES trip(id) ON DELETE CASCADE,
                    key INTEGER NOT NULL, t REAL NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
                    x REAL NOT NULL, y REAL NOT NULL, accuracy REAL NOT NULL, speed REAL, heading REAL,
                    peak REAL NOT NULL, peak_up REAL NOT NULL, peak_down REAL NOT NULL, swell REAL NOT NULL,
                    duration REAL NOT NULL, lateral_ratio REAL NOT NULL, lateral_known INTEGER NOT NULL,
                    signature TEXT NOT NULL, jolts INTEGER NOT NULL, jolt_spacing REAL, wavelength REAL,
                    kind TEXT NOT NULL, confidence REAL NOT NULL,
                    cluster_id INTEGER REFERENCES cluster(id) ON DELETE SET NULL);
                CREATE INDEX event_trip ON event(trip_id);
                CREATE INDEX event_cluster ON event(cluster_id);
                CREATE TABLE coverage (
                    cell INTEGER NOT NULL, direction INTEGER NOT NULL,
                    trip_id INTEGER NOT NULL REFERENCES trip(id) ON DELETE CASCADE,
                    PRIMARY KEY (cell, direction, trip_id)) WITHOUT ROWID;
                CREATE INDEX coverage_trip ON coverage(trip_id);
                CREATE TABLE known_feature (
                    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, x REAL NOT NULL, y REAL NOT NULL,
                    lat REAL NOT NULL, lon REAL NOT NULL, source TEXT NOT NULL, ref TEXT);
                CREATE TABLE cluster (
                    id INTEGER PRIMARY KEY, x REAL NOT NULL, y REAL NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
                    class TEXT NOT NULL, confidence REAL NOT NULL, events INTEGER NOT NULL, trips INTEGER NOT NULL,
                    devices INTEGER NOT NULL, passes INTEGER NOT NULL, hits INTEGER NOT NULL, hit_ratio REAL NOT NULL,
                    opposite_passes INTEGER NOT NULL, opposite_hits INTEGER NOT NULL, directions TEXT NOT NULL,
                    severity INTEGER NOT NULL, strength REAL NOT NULL, median_peak REAL NOT NULL, median_lateral_ratio REAL NOT NULL,
                    dip_share REAL NOT NULL, votes TEXT NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL,
                    state TEXT NOT NULL DEFAULT 'candidate', reasons TEXT NOT NULL,
                    known_feature_id INTEGER REFERENCES known_feature(id) ON DELETE SET NULL);
                """)
        }
        m.registerMigration("v2: Open311 queue and filing outbox") { db in
            try db.execute(sql: """
                CREATE TABLE open311_request (
                    id INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE, service_code TEXT NOT NULL,
                    status TEXT NOT NULL, status_notes TEXT, description TEXT, agency_responsible TEXT,
                    service_notice TEXT, requested_at REAL NOT NULL, updated_at REAL NOT NULL, expected_at REAL,
                    address TEXT, address_id TEXT, zipcode TEXT, lat REAL, long REAL, media_url TEXT,
                    attributes TEXT NOT NULL, jurisdiction_id TEXT, email TEXT, device_id TEXT, account_id TEXT,
                    first_name TEXT, last_name TEXT, phone TEXT, id_hidden_until REAL NOT NULL DEFAULT 0);
                CREATE INDEX open311_request_service ON open311_request(service_code, status, requested_at);
                CREATE TABLE filing (
                    id INTEGER PRIMARY KEY, cluster_id INTEGER NOT NULL, generation INTEGER NOT NULL,
                    reference TEXT NOT NULL UNIQUE, endpoint TEXT NOT NULL, service_code TEXT NOT NULL,
                    x REAL NOT NULL, y REAL NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL, severity INTEGER NOT NULL,
                    state TEXT NOT NULL, origin TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL DEFAULT 0, service_request_id TEXT, token TEXT,
                    request_status TEXT, status_notes TEXT, description TEXT NOT NULL, last_error TEXT,
                    previous_request_id TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL,
                    filed_at REAL, closed_at REAL, version INTEGER NOT NULL DEFAULT 0,
                    UNIQUE (cluster_id, generation));
                CREATE INDEX filing_state ON filing(state, next_attempt_at);
                CREATE TABLE filing_log (
                    id INTEGER PRIMARY KEY, filing_id INTEGER NOT NULL REFERENCES filing(id) ON DELETE CASCADE,
                    at REAL NOT NULL, state TEXT NOT NULL, note TEXT NOT NULL);
                CREATE INDEX filing_log_filing ON filing_log(filing_id);
                """)
        }
        m.registerMigration("v3: open stream trips, upload answers, review actions") { db in
            try db.execute(sql: """
                ALTER TABLE trip ADD COLUMN open INTEGER NOT NULL DEFAULT 0;
                CREATE TABLE stream_fix (
                    trip_id INTEGER NOT NULL REFERENCES trip(id) ON DELETE CASCADE,
                    t REAL NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL, speed REAL, accuracy REAL);
                CREATE UNIQUE INDEX stream_fix_trip ON stream_fix(trip_id, t);
                CREATE INDEX event_key ON event(key);
                ALTER TABLE source ADD COLUMN summary TEXT;
                CREATE TABLE review_action (
                    id INTEGER PRIMARY KEY, cluster_id INTEGER NOT NULL, action TEXT NOT NULL, detail TEXT,
                    actor TEXT NOT NULL, at REAL NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL);
                CREATE INDEX review_action_cluster ON review_action(cluster_id);
                """)
        }
        m.registerMigration("v4: staff merges and splits, when trips were stored") { db in
            // Positions in the store's CRS units: an edit outlives the cluster ids it was made on.
            try db.execute(sql: """
                CREATE TABLE cluster_edit (
                    id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('merge', 'split')),
                    ax REAL NOT NULL, ay REAL NOT NULL, bx REAL NOT NULL, by REAL NOT NULL, review_id INTEGER NOT NULL);
                -- Epoch seconds of storing, for retention (trace times may be relative or wrong).
                ALTER TABLE trip ADD COLUMN stored_at REAL;
                UPDATE trip SET stored_at = CAST(strftime('%s', 'now') AS REAL);
                """)
        }
        m.registerMigration("v5: metres from dip to strike per event and per cluster") { db in
            // NULL for events stored before it (and below 50 Hz): the classifier then judges on strength.
            try db.execute(sql: """
                ALTER TABLE event ADD COLUMN dip_to_strike REAL;
                ALTER TABLE cluster ADD COLUMN dip_to_strike REAL;
                """)
        }
        m.registerMigration("v6: how many events timed a cluster's dip to strike") { db in
            try db.execute(sql: "ALTER TABLE cluster ADD COLUMN timed_hits INTEGER NOT NULL DEFAULT 0")
        }
        m.registerMigration("v7: where clusters that are gone went") { db in
            // A cluster merged into another (by staff, or by a trip bridging the two) leaves
            // its id here with the cluster that took most of its events, so its history is
            // found from the cluster it became.
            try db.execute(sql: """
                CREATE TABLE cluster_lineage (old_id INTEGER PRIMARY KEY, new_id INTEGER NOT NULL);
                CREATE INDEX cluster_lineage_new ON cluster_lineage(new_id);
                """)
        }
        return m
    }

    // MARK: Settings

    /// A setting fixed when the store was first used (e.g. the CRS its x/y are in).
    public func setting(_ key: String) throws -> String? {
        try pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", arguments: [key, value])
        }
    }

    // MARK: Ingest

    /// The path a file with this content hash was ingested from, if it was.
    public func ingestedSource(hash: String) throws -> String? {
        try pool.read { db in try String.fetchOne(db, sql: "SELECT path FROM source WHERE hash = ?", arguments: [hash]) }
    }

    /// The answer given when this content was first uploaded (uploads answer a repeat with it).
    public func sourceSummary(hash: String) throws -> String? {
        try pool.read { db in try String.fetchOne(db, sql: "SELECT summary FROM source WHERE hash = ?", arguments: [hash]) }
    }

    /// Names among `names` that the store already holds.
    public func existingTrips(_ names: [String]) throws -> Set<String> {
        guard !names.isEmpty else { return [] }
        return try pool.read { db in
            var found = Set<String>()
            for name in names where try Bool.fetchOne(db, sql: "SELECT 1 FROM trip WHERE name = ?", arguments: [name]) ?? false {
                found.insert(name)
            }
            return found
        }
    }

    /// When a stored trip ran and on which phone: what tells it from another trip of the same name.
    public struct TripIdentity: Sendable, Equatable {
        public var start: Double
        public var end: Double
        public var device: String?
    }

    /// Per name of `names`: the stored trips of that name and its renamed namesakes
    /// (`NAME#2`, `NAME#3`, …), each with its identity.
    public func storedTrips(named names: [String]) throws -> [String: [(name: String, identity: TripIdentity)]] {
        guard !names.isEmpty else { return [:] }
        return try pool.read { db in
            var found: [String: [(name: String, identity: TripIdentity)]] = [:]
            for name in Set(names) {
                let prefix = name + "#"
                let rows = try Row.fetchAll(
                    db, sql: "SELECT name, start_ms, end_ms, device FROM trip WHERE name = ? OR substr(name, 1, ?) = ?",
                    arguments: [name, prefix.unicodeScalars.count, prefix])  // SQLite counts code points
                for r in rows {
                    let stored: String = r[0]
                    let renamed = stored.hasPrefix(prefix) && stored.count > prefix.count
                        && stored.dropFirst(prefix.count).allSatisfy { $0.isASCII && $0.isNumber }
                    guard stored == name || renamed else { continue }
                    found[name, default: []].append((stored, TripIdentity(start: r[1], end: r[2], device: r[3])))
                }
            }
            return found
        }
    }

    /// The first of `NAME#2`, `NAME#3`, … that no stored trip has and `taken` does not hold.
    public func freeTripName(_ name: String, excluding taken: Set<String>) throws -> String {
        try pool.read { db in
            var n = 2
            while true {
                let candidate = "\(name)#\(n)"
                if !taken.contains(candidate), try !(Bool.fetchOne(db, sql: "SELECT 1 FROM trip WHERE name = ?", arguments: [candidate]) ?? false) {
                    return candidate
                }
                n += 1
            }
        }
    }

    /// Stores a file's trips in one transaction: all of it or (on any error) none of it.
    public func ingest(source: SourceRecord?, trips: [TripRecord]) throws {
        try pool.write { db in
            if let source {
                try db.execute(
                    sql: "INSERT INTO source(hash, path, bytes, rows, rejected_rows, ingested_at, summary) VALUES (?, ?, ?, ?, ?, datetime('now'), ?)",
                    arguments: [source.hash, source.path, source.bytes, source.rows, source.rejectedRows, source.summary])
            }
            let insertTrip = try db.makeStatement(sql: """
                INSERT INTO trip(name, device, source_hash, start_ms, end_ms, samples, fixes, rate, events, trimmed_events, stored_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(strftime('%s', 'now') AS REAL))
                """)
            let insertEvent = try db.makeStatement(sql: Self.insertEventSQL)
            let insertCell = try db.makeStatement(sql: "INSERT OR IGNORE INTO coverage(cell, direction, trip_id) VALUES (?, ?, ?)")
            for trip in trips {
                try insertTrip.execute(arguments: [
                    trip.name, trip.device, source?.hash, trip.start, trip.end, trip.samples, trip.fixes, trip.rate,
                    trip.events.count, trip.trimmedEvents,
                ])
                let tripID = db.lastInsertedRowID
                for s in trip.events { try Self.insert(s, tripID: tripID, with: insertEvent) }
                for c in trip.coverage { try insertCell.execute(arguments: [c.cell, c.direction, tripID]) }
            }
        }
    }

    /// The one `INSERT INTO event` of batch ingest and streams, for `insert(_:tripID:with:)`.
    static let insertEventSQL = """
        INSERT INTO event(trip_id, key, t, lat, lon, x, y, accuracy, speed, heading, peak, peak_up, peak_down,
            swell, duration, lateral_ratio, lateral_known, signature, jolts, jolt_spacing, wavelength, dip_to_strike,
            kind, confidence)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// Inserts one event with a statement prepared from `insertEventSQL`.
    static func insert(_ s: StoredEvent, tripID: Int64, with statement: Statement) throws {
        let e = s.event
        try statement.execute(arguments: [
            tripID, Int64(bitPattern: s.key), e.t, e.lat, e.lon, s.x, s.y, e.accuracy, e.speed.finiteOrNil,
            e.heading.finiteOrNil, e.peak, e.peakUp, e.peakDown, e.swell, e.duration, e.lateralRatio,
            e.lateralKnown, e.signature.rawValue, e.jolts, e.joltSpacing.finiteOrNil, e.wavelength.finiteOrNil,
            e.dipToStrike.finiteOrNil, e.kind.rawValue, e.confidence,
        ])
    }

    // MARK: Clustering

    /// Every event with its evidence, for (re)clustering.
    static func eventPoints(_ db: Database) throws -> [EventPoint] {
        let rows = try Row.fetchCursor(db, sql: """
            SELECT e.id, e.x, e.y, e.accuracy, e.key, e.cluster_id, e.trip_id, t.device, e.t, e.heading, e.speed,
                   e.peak, e.lateral_ratio, e.signature, e.kind, e.confidence, t.rate, e.dip_to_strike
            FROM event e JOIN trip t ON t.id = e.trip_id
            """)
        var out: [EventPoint] = []
        while let r = try rows.next() {
            let evidence = EventEvidence(
                trip: r[6], device: r[7], t: r[8], heading: r[9] ?? .nan, speed: r[10] ?? .nan, peak: r[11],
                lateralRatio: r[12], signature: BumpSignature(rawValue: r[13]) ?? .riseFirst,
                kind: BumpKind(rawValue: r[14]) ?? .other, confidence: r[15], rate: r[16], dipToStrike: r[17] ?? .nan)
            out.append(EventPoint(id: r[0], x: r[1], y: r[2], accuracy: r[3], key: UInt64(bitPattern: r[4]), cluster: r[5], evidence: evidence))
        }
        return out
    }

    /// Per direction bin, the trips whose coverage touches any of `cells`.
    public func passingTrips(cells: [Int64]) throws -> [Int: Set<Int64>] {
        try pool.read { db in try Self.passingTrips(db, cells: cells) }
    }

    static func passingTrips(_ db: Database, cells: [Int64]) throws -> [Int: Set<Int64>] {
        var out: [Int: Set<Int64>] = [:]
        let statement = try db.cachedStatement(sql: "SELECT direction, trip_id FROM coverage WHERE cell = ?")
        for cell in cells {
            let rows = try Row.fetchCursor(statement, arguments: [cell])
            while let r = try rows.next() { out[r[0], default: []].insert(r[1]) }
        }
        return out
    }

    /// What re-clustering reads, taken inside the same write transaction that replaces the
    /// clusters, so a concurrent ingest or review can never be lost in between.
    public struct ClusterSnapshot {
        public let points: [EventPoint]
        /// Review states of the current clusters.
        public let states: [Int64: String]
        public let known: [KnownFeature]
        /// Staff merges and splits, oldest first, in the store's CRS units.
        public let edits: [ClusterEdit]
        /// The highest cluster id ever given out (also by filings and reviews): new clusters
        /// get higher ids, so an id never comes to mean another spot.
        public let highestID: Int64
        let db: Database

        /// Per direction bin, the trips whose coverage touches any of `cells`.
        public func passingTrips(cells: [Int64]) throws -> [Int: Set<Int64>] {
            try TraceStore.passingTrips(db, cells: cells)
        }
    }

    /// Re-clusters atomically: `compute` sees a snapshot and returns the new clusters and every
    /// event's assignment, which replace the old ones in the same transaction.
    public func updateClusters(
        _ compute: (ClusterSnapshot) throws -> (clusters: [ClusterRecord], assignments: [(event: Int64, cluster: Int64)])
    ) throws {
        try pool.write { db in
            let states = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT id, state FROM cluster").map { ($0[0] as Int64, $0[1] as String) })
            let highest = try Int64.fetchOne(db, sql: """
                SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM cluster UNION ALL SELECT MAX(cluster_id) FROM filing
                    UNION ALL SELECT MAX(cluster_id) FROM review_action
                    UNION ALL SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'highest_cluster_id')
                """) ?? 0
            let snapshot = ClusterSnapshot(points: try Self.eventPoints(db), states: states, known: try Self.knownFeatures(db),
                                           edits: try Self.clusterEdits(db), highestID: highest, db: db)
            let (clusters, assignments) = try compute(snapshot)
            try Self.replaceClusters(db, clusters, assignments: assignments, previous: snapshot.points)
            let newHighest = max(highest, clusters.map(\.id).max() ?? 0)
            try db.execute(sql: "INSERT INTO meta(key, value) VALUES ('highest_cluster_id', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [String(newHighest)])
        }
    }

    /// Replaces every cluster and every event's assignment in one transaction, writing only
    /// what changed: clusters are updated in place (a delete would unlink their events), and
    /// only events whose cluster changed are touched. Rewriting every event's link took seconds
    /// of write lock at 100 k events, on every ingest and stream commit.
    static func replaceClusters(_ db: Database, _ clusters: [ClusterRecord], assignments: [(event: Int64, cluster: Int64)],
                                previous: [EventPoint]) throws {
        let kept = Set(clusters.map(\.id))
        let gone = Set(try Int64.fetchAll(db, sql: "SELECT id FROM cluster")).subtracting(kept)
        for id in gone {
            // Explicitly, so a store opened without foreign keys is the same.
            try db.execute(sql: "UPDATE event SET cluster_id = NULL WHERE cluster_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM cluster WHERE id = ?", arguments: [id])
        }
        try recordLineage(db, gone: gone, assignments: assignments, previous: previous)
        let columns = ["x", "y", "lat", "lon", "class", "confidence", "events", "trips", "devices", "passes", "hits", "hit_ratio",
                       "opposite_passes", "opposite_hits", "directions", "severity", "strength", "median_peak", "median_lateral_ratio",
                       "dip_share", "dip_to_strike", "timed_hits", "votes", "first_seen", "last_seen", "state", "reasons", "known_feature_id"]
        let upsert = try db.makeStatement(sql: """
            INSERT INTO cluster(id, \(columns.joined(separator: ", "))) VALUES (?\(String(repeating: ", ?", count: columns.count)))
            ON CONFLICT(id) DO UPDATE SET \(columns.map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
            """)
        for c in clusters {
            let s = c.summary
            let votes = BumpKind.allCases.compactMap { k in s.votes[k].map { "\(k.rawValue)=\(($0 * 1000).rounded() / 1000)" } }.joined(separator: ",")
            try upsert.execute(arguments: [
                c.id, c.x, c.y, c.lat, c.lon, c.cls.rawValue, c.confidence, s.events, s.trips, s.devices, s.passes, s.hits,
                s.hitRatio, s.oppositePasses, s.oppositeHits, s.directions.map(String.init).joined(separator: ","), s.severity, s.strength.finiteOrZero,
                s.medianPeak.finiteOrZero, s.medianLateralRatio.finiteOrZero, s.dipShare, s.dipToStrike.finiteOrNil, s.timedHits, votes,
                s.firstSeen, s.lastSeen,
                c.state, c.reasons.joined(separator: "\n"), c.knownFeature,
            ])
        }
        var before: [Int64: Int64] = [:]
        before.reserveCapacity(previous.count)
        for p in previous { if let c = p.cluster, kept.contains(c) { before[p.id] = c } }
        let assign = try db.makeStatement(sql: "UPDATE event SET cluster_id = ? WHERE id = ?")
        for a in assignments where before.removeValue(forKey: a.event) != a.cluster {
            try assign.execute(arguments: [a.cluster, a.event])
        }
        // Still linked to a kept cluster but assigned to none now.
        for event in before.keys { try assign.execute(arguments: [nil as Int64?, event]) }
    }

    /// For each cluster that is gone, the new cluster that took more than half of its events.
    private static func recordLineage(_ db: Database, gone: Set<Int64>, assignments: [(event: Int64, cluster: Int64)],
                                      previous: [EventPoint]) throws {
        guard !gone.isEmpty else { return }
        var oldCluster: [Int64: Int64] = [:]
        var sizes: [Int64: Int] = [:]
        for p in previous { if let c = p.cluster, gone.contains(c) { oldCluster[p.id] = c; sizes[c, default: 0] += 1 } }
        var went: [Int64: [Int64: Int]] = [:]
        for a in assignments { if let old = oldCluster[a.event] { went[old, default: [:]][a.cluster, default: 0] += 1 } }
        let record = try db.makeStatement(sql: "INSERT INTO cluster_lineage(old_id, new_id) VALUES (?, ?) ON CONFLICT(old_id) DO UPDATE SET new_id = excluded.new_id")
        for (old, targets) in went {
            if let (new, count) = targets.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }), count * 2 > sizes[old, default: 0] {
                try record.execute(arguments: [old, new])
            }
        }
    }

    // MARK: Reading clusters

    /// Clusters, most confident first, optionally of some classes only.
    public func clusters(classes: Set<ClusterClass>? = nil) throws -> [ClusterRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cluster ORDER BY confidence DESC, severity DESC, id")
                .map(Self.cluster(from:))
                .filter { classes?.contains($0.cls) ?? true }
        }
    }

    public func cluster(id: Int64) throws -> ClusterRecord? {
        try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM cluster WHERE id = ?", arguments: [id]).map(Self.cluster(from:)) }
    }

    /// The events of a cluster with their trip names, oldest first (`limit` of them after `offset`).
    public func events(ofCluster id: Int64, limit: Int = .max, offset: Int = 0) throws -> [(trip: String, device: String?, event: BumpEvent)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT t.name, t.device, e.* FROM event e JOIN trip t ON t.id = e.trip_id WHERE e.cluster_id = ? ORDER BY e.t, e.id LIMIT ? OFFSET ?
                """, arguments: [id, limit, offset]).map { r in
                var e = BumpEvent(trip: 0, t: r["t"])
                e.lat = r["lat"]
                e.lon = r["lon"]
                e.accuracy = r["accuracy"]
                e.speed = r["speed"] ?? .nan
                e.heading = r["heading"] ?? .nan
                e.peak = r["peak"]
                e.peakUp = r["peak_up"]
                e.peakDown = r["peak_down"]
                e.swell = r["swell"]
                e.duration = r["duration"]
                e.lateralRatio = r["lateral_ratio"]
                e.lateralKnown = r["lateral_known"]
                e.signature = BumpSignature(rawValue: r["signature"]) ?? .riseFirst
                e.jolts = r["jolts"]
                e.joltSpacing = r["jolt_spacing"] ?? .nan
                e.wavelength = r["wavelength"] ?? .nan
                e.dipToStrike = r["dip_to_strike"] ?? .nan
                e.kind = BumpKind(rawValue: r["kind"]) ?? .other
                e.confidence = r["confidence"]
                return (r[0], r[1], e)
            }
        }
    }

    private static func cluster(from r: Row) -> ClusterRecord {
        var s = ClusterSummary()
        s.events = r["events"]
        s.trips = r["trips"]
        s.devices = r["devices"]
        s.passes = r["passes"]
        s.hits = r["hits"]
        s.hitRatio = r["hit_ratio"]
        s.oppositePasses = r["opposite_passes"]
        s.oppositeHits = r["opposite_hits"]
        s.directions = (r["directions"] as String).split(separator: ",").compactMap { Int($0) }
        s.severity = r["severity"]
        s.strength = r["strength"]
        s.medianPeak = r["median_peak"]
        s.medianLateralRatio = r["median_lateral_ratio"]
        s.dipShare = r["dip_share"]
        s.dipToStrike = r["dip_to_strike"] ?? .nan
        s.timedHits = r["timed_hits"]
        for pair in (r["votes"] as String).split(separator: ",") {
            let kv = pair.split(separator: "=")
            if kv.count == 2, let k = BumpKind(rawValue: String(kv[0])), let v = Double(kv[1]) { s.votes[k] = v }
        }
        s.firstSeen = r["first_seen"]
        s.lastSeen = r["last_seen"]
        return ClusterRecord(
            id: r["id"], x: r["x"], y: r["y"], lat: r["lat"], lon: r["lon"],
            cls: ClusterClass(rawValue: r["class"]) ?? .noise, confidence: r["confidence"], summary: s,
            reasons: (r["reasons"] as String).split(separator: "\n").map(String.init), state: r["state"],
            knownFeature: r["known_feature_id"])
    }

    // MARK: Known features

    /// Replaces the known features imported as `source` (a layer's name; also `alsoSource`)
    /// with `features`, in one transaction; returns how many are stored and how many replaced.
    public func replaceKnownFeatures(source: String, alsoSource: String? = nil, with features: [KnownFeature]) throws -> (stored: Int, replaced: Int) {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM known_feature WHERE source IN (?, ?)", arguments: [source, alsoSource ?? source])
            let replaced = db.changesCount
            let insert = try db.makeStatement(sql: "INSERT INTO known_feature(kind, x, y, lat, lon, source, ref) VALUES (?, ?, ?, ?, ?, ?, ?)")
            for f in features { try insert.execute(arguments: [f.kind.rawValue, f.x, f.y, f.lat, f.lon, f.source, f.ref]) }
            return (features.count, replaced)
        }
    }

    public func knownFeatures() throws -> [KnownFeature] {
        try pool.read { db in try Self.knownFeatures(db) }
    }

    static func knownFeatures(_ db: Database) throws -> [KnownFeature] {
        try Row.fetchAll(db, sql: "SELECT * FROM known_feature ORDER BY id").map { r in
            KnownFeature(id: r["id"], kind: ClusterClass(rawValue: r["kind"]) ?? .casting, x: r["x"], y: r["y"],
                         lat: r["lat"], lon: r["lon"], source: r["source"], ref: r["ref"])
        }
    }

    // MARK: Maintenance

    /// Counts for summaries.
    public func counts() throws -> (trips: Int, events: Int, clusters: Int) {
        try pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM trip") ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM event") ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM cluster") ?? 0)
        }
    }

    /// SQLite's own consistency check ("ok" when healthy).
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }

    /// The first column of a one-row query, for diagnostics and tests (read-only).
    public func rowCount(_ sql: String) throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
    }

    /// The text a query's first row and column hold ("" for none), for checks and reports.
    public func text(_ sql: String) throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: sql) ?? "" }
    }
}

extension Double {
    var finiteOrNil: Double? { isFinite ? self : nil }
    var finiteOrZero: Double { isFinite ? self : 0 }
}
