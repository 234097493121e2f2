import BumpCore
import BumpGeo
import BumpStore

/// How a stream is cut into commits and trips.
public struct StreamSettings: Sendable {
    public var ingest = IngestSettings()
    /// A trip with no row for this many seconds (of stream time, or of wall time when the
    /// input is quiet) is closed and its state freed.
    public var idleTimeout = 60.0
    /// Wall seconds between commits of what is pending.
    public var commitInterval = 0.5
    /// A pending event is committed (and announced) once the stream has moved this many
    /// milliseconds past the moment it became final, however fast the input arrives.
    public var maxEventDelay = 250.0
    /// Wall seconds between re-clusterings (each covers every stored event).
    public var reclusterInterval = 5.0
    /// Longer lines are rejected without being read into memory.
    public var maxLineBytes = 1 << 20
    public init() {}
}

/// What a stream reports on stdout, one JSON object per line.
public enum StreamMessage: Sendable {
    case event(trip: String, event: StoredEvent)
    /// A stored event removed when its trip closed (privacy trim around the trip's end).
    case eventRemoved(trip: String, t: Double)
    case tripClosed(trip: String, samples: Int, events: Int, trimmedEvents: Int)
    case clusterCreated(ClusterRecord)
    case clusterUpdated(ClusterRecord)
    case clusterClassified(ClusterRecord, previous: ClusterClass)
    case clusterRemoved(id: Int64)

    public var json: String {
        func f(_ v: Double, _ places: Int) -> String { v.isFinite ? TraceWriter.fixed(v, places: places) : "null" }
        func s(_ v: String) -> String { TraceWriter.jsonString(v) }
        func cluster(_ type: String, _ c: ClusterRecord, extra: String = "") -> String {
            let m = c.summary
            return "{\"type\":\"\(type)\",\"id\":\(c.id),\"class\":\(s(c.cls.rawValue)),\"confidence\":\(f(c.confidence, 3)),"
                + "\"lat\":\(f(c.lat, 7)),\"lon\":\(f(c.lon, 7)),\"x\":\(f(c.x, 2)),\"y\":\(f(c.y, 2)),\"events\":\(m.events),"
                + "\"trips\":\(m.trips),\"passes\":\(m.passes),\"hit_ratio\":\(f(m.hitRatio, 3)),\"severity\":\(m.severity)\(extra)}"
        }
        switch self {
        case .event(let trip, let e):
            let v = e.event
            return "{\"type\":\"event\",\"trip\":\(s(trip)),\"t\":\(f(v.t, 1)),\"lat\":\(f(v.lat, 7)),\"lon\":\(f(v.lon, 7)),"
                + "\"x\":\(f(e.x, 2)),\"y\":\(f(e.y, 2)),\"speed\":\(f(v.speed, 2)),\"peak\":\(f(v.peak, 3)),"
                + "\"kind\":\(s(v.kind.rawValue)),\"confidence\":\(f(v.confidence, 3))}"
        case .eventRemoved(let trip, let t):
            return "{\"type\":\"event_removed\",\"trip\":\(s(trip)),\"t\":\(f(t, 1)),\"reason\":\"privacy trim at the trip's end\"}"
        case .tripClosed(let trip, let samples, let events, let trimmed):
            return "{\"type\":\"trip_closed\",\"trip\":\(s(trip)),\"samples\":\(samples),\"events\":\(events),\"trimmed_events\":\(trimmed)}"
        case .clusterCreated(let c): return cluster("cluster_created", c)
        case .clusterUpdated(let c): return cluster("cluster_updated", c)
        case .clusterClassified(let c, let previous): return cluster("cluster_classified", c, extra: ",\"previous_class\":\(s(previous.rawValue))")
        case .clusterRemoved(let id): return "{\"type\":\"cluster_removed\",\"id\":\(id)}"
        }
    }
}

/// The streaming door: bytes of interleaved trips in, the same store as batch ingest out.
///
/// Each trip gets the same online detector as a file. Detected events are committed within
/// about a second (and only then announced), so whatever was announced survives a crash; raw
/// fixes of open trips are kept in the store until the trip closes. Closing a trip (idle, end of
/// input, signal, or recovery after a crash) applies the batch privacy trim and coverage to
/// everything it stored, so a stream and a batch ingest of the same trips give the same store.
public final class StreamSession {
    public let settings: StreamSettings
    let writer: StoreWriter
    var store: TraceStore { writer.store }
    /// Parses what `consume` is given; a caller parsing on another thread uses `apply` instead.
    private var parser: StreamParser
    private var sink: StreamSink
    /// Trip names and first devices by trip index, as the parser found them.
    private var tripNames: [String] = []
    private var tripDevices: [String?] = []
    private var issues: [RowIssue] = []
    private var nextStaleCheck = (stream: -Double.infinity, wall: 0.0)
    private var lastRecluster = 0.0
    private var clustersDirty = false
    /// Set when the input turned out not to be text of the format at all; nothing more is read.
    private var readerFailed = false
    /// Set once `consume` parsed bytes here, so `finish` flushes this parser's last line.
    private var parsedHere = false

    public init(store: TraceStore, format: TraceFormat, settings: StreamSettings) throws {
        self.settings = settings
        writer = try StoreWriter(store: store, settings: settings.ingest)
        parser = StreamParser(format: format, maxLineBytes: settings.maxLineBytes)
        sink = StreamSink(config: settings.ingest.detector, maxClockJump: settings.idleTimeout * 1_000)
    }

    /// Rows, rejected rows and bytes read so far.
    public private(set) var stats = ReadStats()
    /// Trips currently open.
    public var openTrips: Int { sink.trips.count }
    /// Stream time from each announced event's hit to its commit (events announced when their
    /// trip closes are not counted), for every event and for those the detector called a pothole
    /// (a speed hump taken slowly is still under the car 2 s after it began).
    public private(set) var latency = LatencyHistogram()
    public private(set) var potholeLatency = LatencyHistogram()

    /// Trips a previous run left open (it was killed), by name, with the wall time they were
    /// adopted: resumed if their rows come again, closed after the idle timeout otherwise.
    private var dormant: [String: Double] = [:]

    /// Adopts the trips a previous run left open. A producer that sends them again (from their
    /// start) resumes them: events and fixes already stored are not stored twice, so the store
    /// ends as if the run had never been killed. Those not sent again close after the idle
    /// timeout, or at the end of this run.
    public func recover(now: Double = 0) throws -> [StreamMessage] {
        for (_, name) in try store.openTrips() { dormant[name] = now }
        return []
    }

    /// Feeds bytes read at wall time `now` (seconds, any monotonic origin): parses them here
    /// and applies the rows. Throws `TraceReadError` once the input is not the format at all
    /// (after applying the rows before that point).
    public func consume(_ chunk: UnsafeRawBufferPointer, now: Double) throws -> [StreamMessage] {
        parsedHere = true
        var out: [StreamMessage] = []
        var offset = 0
        while offset < chunk.count {
            let end = min(offset + (64 << 10), chunk.count)
            out += try apply(parser.parse(UnsafeRawBufferPointer(rebasing: chunk[offset..<end])), now: now)
            offset = end
        }
        return out
    }

    /// Applies rows parsed (here or on another thread) at wall time `now` and returns what
    /// became due on the way. Rows are taken in slices, so that an event is committed about a
    /// second of stream time after it became final however fast a replay runs.
    public func apply(_ parsed: ParsedRows, now: Double) throws -> [StreamMessage] {
        tripNames += parsed.newTrips
        tripDevices += repeatElement(nil, count: parsed.newTrips.count)
        for (trip, device) in parsed.devices { tripDevices[trip] = device }
        issues += parsed.issues
        stats = parsed.stats
        sink.wallNow = now
        var out: [StreamMessage] = []
        var offset = 0
        while offset < parsed.rows.count {
            let end = min(offset + Self.slice, parsed.rows.count)
            for i in offset..<end { sink.accept(parsed.rows[i].row, trip: parsed.rows[i].trip) }
            out += try poll(now: now)
            offset = end
        }
        if let failure = parsed.failure {
            readerFailed = true
            throw failure
        }
        return out
    }

    /// Rows per slice: few enough that even one sparse trip moves the stream by well under a
    /// second per slice; the check after each slice is constant time.
    static let slice = 64

    /// Row problems since the last call (file, line, field, reason).
    public func takeIssues() -> [RowIssue] {
        defer { issues.removeAll() }
        return issues
    }

    /// Does what is due at wall time `now`: commits, closes idle trips, re-clusters.
    public func poll(now: Double) throws -> [StreamMessage] {
        if sink.hasUnresolved { try resolveNewTrips() }
        var out: [StreamMessage] = []
        var stale: [Int] = []
        // Looking for idle trips costs a pass over them all: once a stream second or 200 ms.
        if sink.streamTime >= nextStaleCheck.stream || now >= nextStaleCheck.wall {
            let idle = settings.idleTimeout
            stale = sink.trips.filter { sink.streamTime - $0.value.lastRowT > idle * 1_000 || now - $0.value.lastWall > idle }.map(\.key)
            nextStaleCheck = (sink.streamTime + 1_000, now + 0.2)
        }
        for (name, since) in dormant where now - since > settings.idleTimeout {
            dormant[name] = nil
            out += try closeStored(name: name)
        }
        let due = sink.streamTime - settings.maxEventDelay
        let periodic = sink.pendingSince.map { now - $0 >= settings.commitInterval } ?? false
        if !stale.isEmpty || periodic {
            out += try commit(closing: Set(stale))
        } else if sink.earliestReady < due {
            // Only the trips with an event due: their neighbours' fixes can wait for the periodic commit.
            out += try commit(closing: [], onlyEventsReadyBefore: due)
        }
        if clustersDirty, now - lastRecluster >= settings.reclusterInterval {
            out += try recluster()
            lastRecluster = now
        }
        return out
    }

    /// End of input or a signal: reads what is left, closes every trip, commits, re-clusters.
    public func finish() throws -> [StreamMessage] {
        // A last line without a newline that `consume` was given.
        var out = parsedHere && !readerFailed ? try apply(parser.finish(), now: sink.wallNow) : []
        if sink.hasUnresolved { try resolveNewTrips() }
        out += try commit(closing: Set(sink.trips.keys))
        for name in dormant.keys.sorted() { out += try closeStored(name: name) }
        dormant = [:]
        // Always: a run killed after its last commit but before re-clustering left the clusters
        // behind the events, and this run may have nothing new to commit.
        out += try recluster()
        return out
    }

    // MARK: Commit

    private func commit(closing: Set<Int>, onlyEventsReadyBefore due: Double? = nil) throws -> [StreamMessage] {
        for index in closing { sink.trips[index]?.finish() }
        var updates: [TraceStore.StreamTripUpdate] = []
        var names: [Int: String] = [:]
        let firstFix = sink.trips.values.lazy.compactMap(\.firstFix).first.map { ($0.lat, $0.lon) }
        let transformer = try writer.projection(near: firstFix)
        for (index, trip) in sink.trips where trip.hasPending || (closing.contains(index) && trip.accepted > 0) {
            if let due, !trip.pendingEvents.contains(where: { $0.readyAt < due }) { continue }
            // Without a CRS nothing can be placed yet: keep it pending.
            guard let transformer else { break }
            guard let name = trip.storedName else { continue }
            names[index] = name
            updates.append(sink.trips[index]!.takeUpdate(name: name, device: tripDevices[index],
                                                          privacyTrim: settings.ingest.privacyTrim, transformer: transformer))
        }
        sink.committed(all: due == nil)
        var out: [StreamMessage] = []
        if !updates.isEmpty {
            let inserted = try store.commitStream(updates)
            for u in updates {
                for e in inserted[u.name] ?? [] {
                    out.append(.event(trip: u.name, event: e))
                    if closing.isEmpty {
                        latency.add(sink.streamTime - e.event.t)
                        if e.event.kind == .pothole { potholeLatency.add(sink.streamTime - e.event.t) }
                    }
                }
            }
            clustersDirty = clustersDirty || inserted.values.contains { !$0.isEmpty }
        }
        for index in closing {
            if let name = names[index] { out += try closeStored(name: name) }
            sink.trips[index] = nil
        }
        return out
    }

    /// Decides, for trips seen for the first time, under which name they are stored and which of
    /// their rows are already stored, then lets their held rows through:
    /// - a trip a killed run left open resumes under its name (what is stored is not stored twice);
    /// - a trip already stored and closed: its rows up to the stored end are the same rows sent
    ///   again and are dropped; later rows are a new trip `name~2` (`~3`, …);
    /// - otherwise the trip's own name.
    private func resolveNewTrips() throws {
        for (index, trip) in sink.trips where trip.storedName == nil {
            let base = tripNames[index]
            var skip = -Double.infinity
            var name = base
            if dormant.removeValue(forKey: base) == nil {
                var segment = 1
                while let stored = try store.tripState(name: name), !stored.open {
                    skip = max(skip, stored.end)
                    segment += 1
                    name = "\(base)~\(segment)"
                }
                dormant[name] = nil
            }
            trip.resolve(name: name, skipThrough: skip)
            if let progress = try store.openTripProgress(name: name) { trip.resume(from: progress) }
            for row in trip.takeHeld() where trip.accept(row, streamTime: sink.streamTime, wall: sink.wallNow) {
                sink.earliestReady = min(sink.earliestReady, sink.streamTime)
            }
        }
        sink.hasUnresolved = false
    }

    /// Closes a stored open trip exactly as batch ingest would have stored it.
    private func closeStored(name: String) throws -> [StreamMessage] {
        guard let data = try store.openTripData(name: name), let transformer = try writer.projection(near: nil) else { return [] }
        let trim = PrivacyTrim(fixes: data.fixes, distance: settings.ingest.privacyTrim)
        let removed = data.events.filter { !trim.keeps($0.lat, $0.lon) }
        let coverage = TripBuilder.coverage(sortedFixes: data.fixes.sorted { $0.t < $1.t }, trim: trim, transformer: transformer)
        try store.closeTrip(id: data.id, removeEvents: removed.map(\.id), coverage: coverage)
        clustersDirty = true
        let summary = try store.tripSummary(id: data.id)
        return removed.map { .eventRemoved(trip: name, t: $0.t) }
            + [.tripClosed(trip: name, samples: summary?.samples ?? 0, events: summary?.events ?? 0, trimmedEvents: summary?.trimmedEvents ?? 0)]
    }

    // MARK: Clusters

    private func recluster() throws -> [StreamMessage] {
        clustersDirty = false
        let before = Dictionary(uniqueKeysWithValues: try store.clusters().map { ($0.id, $0) })
        _ = try ClusterUpdater.update(store: store, settings: settings.ingest)
        var out: [StreamMessage] = []
        var seen = Set<Int64>()
        for c in try store.clusters() {
            seen.insert(c.id)
            guard let old = before[c.id] else {
                out.append(.clusterCreated(c))
                continue
            }
            if old.cls != c.cls {
                out.append(.clusterClassified(c, previous: old.cls))
            } else if old.summary.events != c.summary.events || old.summary.passes != c.summary.passes {
                out.append(.clusterUpdated(c))
            }
        }
        for id in before.keys.sorted() where !seen.contains(id) { out.append(.clusterRemoved(id: id)) }
        return out
    }
}

/// Milliseconds in 100 ms buckets up to a minute: percentiles in constant memory.
public struct LatencyHistogram: Sendable {
    private var buckets = [Int](repeating: 0, count: 601)
    public private(set) var count = 0
    public private(set) var max = 0.0

    mutating func add(_ ms: Double) {
        buckets[Swift.min(Swift.max(Int(ms / 100), 0), 600)] += 1
        count += 1
        max = Swift.max(max, ms)
    }

    /// The upper edge of the bucket holding the `p` quantile (0...1), in ms.
    public func percentile(_ p: Double) -> Double {
        var seen = 0
        let target = Int((Double(count) * p).rounded(.up))
        for (i, n) in buckets.enumerated() {
            seen += n
            if seen >= target && n > 0 { return Double(i + 1) * 100 }
        }
        return max
    }
}

/// Per-trip online state of a stream: bounded however long the trip (the detector's own
/// buffers, the fixes since the last commit, the events not yet committed). A class, so the
/// per-row lookup hands out a reference instead of copying the detector.
final class OpenTrip {
    var detector: TripDetector
    /// Set once the session has looked the trip up in the store; until then rows are held.
    private(set) var storedName: String?
    private var held: [TraceRow] = []
    /// Rows at or before this time were stored before (the trip is being sent again).
    private var skipThrough = -Double.infinity
    /// Rows that reached the detector.
    private(set) var accepted = 0
    /// The first fix to arrive and the earliest in time: the start's privacy circles until the
    /// trip closes (a fix with a wrong clock can be the earliest, far from the start).
    var firstFix: Fix?
    var earliestFix: Fix?

    /// Whether a point lies within `distance` of where the trip began, as far as known.
    func nearStart(_ lat: Double, _ lon: Double, within distance: Double) -> Bool {
        [firstFix, earliestFix].contains { f in f.map { LocalGeodesy.distance(($0.lat, $0.lon), (lat, lon)) <= distance } ?? false }
    }
    /// The last fix kept (at most one a second, as batch ingest keeps them).
    var lastKeptFix: Fix?
    /// The last fix already committed, to join provisional coverage across commits.
    var lastCommittedFix: Fix?
    var newFixes: [Fix] = []
    var pendingEvents: [(event: BumpEvent, readyAt: Double)] = []
    /// Events this run dropped before storing (start trim, no position): a running total.
    private var trimmed = 0
    var start = Double.infinity
    var end = -Double.infinity
    var lastRowT = -Double.infinity
    var lastWall = 0.0

    init(detector: TripDetector) { self.detector = detector }

    var hasPending: Bool { !pendingEvents.isEmpty || !newFixes.isEmpty }

    func resolve(name: String, skipThrough: Double) {
        storedName = name
        self.skipThrough = skipThrough
    }

    /// What a killed run committed of this trip, when it resumes it. Its rows may be sent again
    /// or not: counts go on from the committed ones with the rows after them, and the start's
    /// privacy circle stays where the trip began, not where this run picked it up.
    private var prior: (end: Double, samples: Int, fixes: Int)?
    private var samplesAfterPrior = 0, fixesAfterPrior = 0

    func resume(from progress: (end: Double, samples: Int, fixes: Int, firstFix: Fix?, earliestFix: Fix?)) {
        prior = (progress.end, progress.samples, progress.fixes)
        if let f = progress.firstFix { firstFix = f }
        if let f = progress.earliestFix, earliestFix == nil || f.t < earliestFix!.t { earliestFix = f }
    }

    func takeHeld() -> [TraceRow] {
        defer { held = [] }
        return held
    }

    /// Returns whether events became final.
    func accept(_ row: TraceRow, streamTime: Double, wall: Double) -> Bool {
        lastRowT = max(lastRowT, row.t)
        lastWall = wall
        guard storedName != nil else {
            held.append(row)
            return false
        }
        if row.t <= skipThrough { return false }
        accepted += 1
        detector.accept(row)
        if let prior, row.t > prior.end {
            if row.hasAcceleration { samplesAfterPrior += 1 }
            if row.hasFix { fixesAfterPrior += 1 }
        }
        start = min(start, row.t)
        end = max(end, row.t)
        if row.hasFix, lastKeptFix == nil || abs(row.t - lastKeptFix!.t) >= 1_000 {
            let fix = Fix(t: row.t, lat: row.lat, lon: row.lon, speed: row.speed, accuracy: row.accuracy)
            lastKeptFix = fix
            if firstFix == nil { firstFix = fix }
            if earliestFix == nil || fix.t < earliestFix!.t { earliestFix = fix }
            newFixes.append(fix)
        }
        return takeReady(at: streamTime)
    }

    func finish() {
        detector.finish()
        takeReady(at: lastRowT)
    }

    @discardableResult
    private func takeReady(at streamTime: Double) -> Bool {
        guard !detector.ready.isEmpty else { return false }
        for e in detector.ready { pendingEvents.append((e, streamTime)) }
        detector.ready.removeAll(keepingCapacity: true)
        return true
    }

    /// Hands over what is pending as one store update: events outside the privacy trim around
    /// the start (the end is not known yet), projected; the new fixes; provisional coverage.
    func takeUpdate(name: String, device: String?, privacyTrim: Double, transformer: CRSTransformer) -> TraceStore.StreamTripUpdate {
        var events: [StoredEvent] = []
        var waiting: [(event: BumpEvent, readyAt: Double)] = []
        for p in pendingEvents {
            let e = p.event
            guard e.lat.isFinite && e.lon.isFinite else { trimmed += 1; continue }
            guard firstFix != nil else { waiting.append(p); continue }
            if privacyTrim > 0 && nearStart(e.lat, e.lon, within: privacyTrim) {
                trimmed += 1
                continue
            }
            var x = [e.lon], y = [e.lat]
            if transformer.forward(lons: &x, lats: &y).isEmpty {
                events.append(StoredEvent(event: e, x: x[0], y: y[0], key: ContentHash.eventKey(trip: name, t: e.t)))
            } else {
                trimmed += 1
            }
        }
        pendingEvents = waiting
        // Provisional coverage from the new stretch of track, outside the start's circle.
        var track: [Coverage.TrackPoint] = []
        let stretch = (lastCommittedFix.map { [$0] } ?? []) + newFixes
        let m = transformer.metresPerUnit
        for f in stretch {
            if privacyTrim > 0, nearStart(f.lat, f.lon, within: privacyTrim) { continue }
            var x = [f.lon], y = [f.lat]
            if transformer.forward(lons: &x, lats: &y).isEmpty { track.append((x[0] * m, y[0] * m, f.t, f.speed)) }
        }
        let stats = detector.stats
        let samples = prior.map { $0.samples + samplesAfterPrior } ?? stats.samples
        let fixes = prior.map { $0.fixes + fixesAfterPrior } ?? stats.fixes
        let update = TraceStore.StreamTripUpdate(
            name: name, device: device, start: start.isFinite ? start : 0, end: end.isFinite ? end : 0,
            samples: samples, fixes: fixes, rate: stats.rate, trimmedEvents: trimmed, events: events,
            newFixes: newFixes, coverage: Array(Coverage.cells(track: track)))
        lastCommittedFix = newFixes.last ?? lastCommittedFix
        newFixes.removeAll(keepingCapacity: true)
        return update
    }
}

/// Routes rows to their open trip; trips are created on their first row.
struct StreamSink: TraceRowSink {
    let config: DetectorConfig
    var trips: [Int: OpenTrip] = [:]
    /// The latest row time seen on any trip (ms), jumps confirmed.
    var streamTime = -Double.infinity
    var wallNow = 0.0
    /// A row further than this (ms) past the clock moves it only when the next row of its trip
    /// confirms the jump: one row with a wrong clock must not close every other trip as idle.
    let maxClockJump: Double
    private var unconfirmedJumps: [Int: Double] = [:]

    init(config: DetectorConfig, maxClockJump: Double) {
        self.config = config
        self.maxClockJump = maxClockJump
    }

    /// When the oldest uncommitted event became final (stream ms); infinity when none.
    var earliestReady = Double.infinity
    /// Wall time of the first row since the last commit; nil when nothing is pending.
    var pendingSince: Double?
    /// Some trip appeared whose name the session has not looked up yet.
    var hasUnresolved = false

    mutating func accept(_ row: TraceRow, trip: Int) {
        if row.t > streamTime {
            advanceClock(to: row.t, trip: trip)
        } else if !unconfirmedJumps.isEmpty {
            unconfirmedJumps[trip] = nil  // the trip came back: that jump was a wrong clock
        }
        if pendingSince == nil { pendingSince = wallNow }
        let open: OpenTrip
        if let existing = trips[trip] {
            open = existing
        } else {
            open = OpenTrip(detector: TripDetector(trip: trip, config: config))
            trips[trip] = open
            hasUnresolved = true
        }
        if open.accept(row, streamTime: streamTime, wall: wallNow) { earliestReady = min(earliestReady, streamTime) }
    }

    private mutating func advanceClock(to t: Double, trip: Int) {
        let jump = unconfirmedJumps.isEmpty ? nil : unconfirmedJumps.removeValue(forKey: trip)
        guard streamTime.isFinite, t - streamTime > maxClockJump else {
            streamTime = t
            return
        }
        if let jump, abs(t - jump) <= maxClockJump {
            streamTime = t
        } else {
            unconfirmedJumps[trip] = t
        }
    }

    /// After a commit (of every trip, or only of those with events due): what stays pending.
    mutating func committed(all: Bool) {
        earliestReady = trips.values.lazy.flatMap(\.pendingEvents).map(\.readyAt).min() ?? .infinity
        if all { pendingSince = nil }
    }
}
