import BumpCore
import BumpIngest
import BumpStore
import Foundation
import Testing

/// Collects rows.
struct RowCollector: TraceRowSink {
    var rows: [TraceRow] = []
    mutating func accept(_ row: TraceRow, trip: Int) { rows.append(row) }
}

/// The test city's trip files interleaved in time order, as one NDJSON stream (made once).
let cityStreamBytes: [UInt8] = {
    var all: [(row: TraceRow, trip: String)] = []
    for file in TestCity.shared.files {
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        var reader = CanonicalCSVReader(source: file, defaultTrip: name)
        var collector = RowCollector()
        let bytes = FileManager.default.contents(atPath: file)!
        try! bytes.withUnsafeBytes { try reader.consume($0, into: &collector) }
        try! reader.finish(into: &collector)
        all += collector.rows.map { ($0, name) }
    }
    all.sort { $0.row.t < $1.row.t }
    var out: [UInt8] = []
    for (row, trip) in all { TraceWriter.appendNDJSON(row, trip: trip, device: nil, to: &out) }
    return out
}()

func cityStream() -> [UInt8] { cityStreamBytes }

func temporaryStore() throws -> TraceStore {
    try TraceStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("streetbump-\(UUID().uuidString).sqlite").path)
}

/// Feeds `bytes` to a new session in chunks, at a wall clock that does not move; returns the messages.
func stream(_ bytes: [UInt8], into store: TraceStore, settings: StreamSettings = StreamSettings(), chunk: Int = 1 << 20) throws -> [StreamMessage] {
    let session = try StreamSession(store: store, format: .ndjson, settings: settings)
    var out = try session.recover()
    try bytes.withUnsafeBytes { all in
        var offset = 0
        while offset < all.count {
            let end = min(offset + chunk, all.count)
            out += try session.consume(UnsafeRawBufferPointer(rebasing: all[offset..<end]), now: 0)
            offset = end
        }
    }
    out += try session.finish()
    return out
}

@Suite("Streaming ingestion", .serialized)
struct StreamTests {
    /// The first half of the city stream into `store`, committed (the commit interval has
    /// passed), then the process "dies": no finish. Returns the stream and where it was cut.
    func killedAtHalf(_ store: TraceStore) throws -> (bytes: [UInt8], half: Int) {
        let bytes = cityStream()
        let half = bytes.prefix(bytes.count / 2).lastIndex(of: UInt8(ascii: "\n"))! + 1
        let session = try StreamSession(store: store, format: .ndjson, settings: StreamSettings())
        _ = try Array(bytes[..<half]).withUnsafeBytes { try session.consume($0, now: 0) }
        _ = try session.poll(now: 10)
        return (bytes, half)
    }

    @Test("the same city streamed (interleaved, in time order) and ingested as files gives the same store")
    func parityWithBatch() throws {
        let (batch, _) = try ingest([TestCity.shared.files])
        let store = try temporaryStore()
        let messages = try stream(cityStream(), into: store)
        let streamed = try store.clusters(classes: [.pothole]), filed = try batch.clusters(classes: [.pothole])
        #expect(streamed.count == filed.count && !streamed.isEmpty)
        for c in streamed {
            let nearest = filed.map { ((c.x - $0.x) * (c.x - $0.x) + (c.y - $0.y) * (c.y - $0.y)).squareRoot() }.min() ?? .infinity
            #expect(nearest <= 0.5, "pothole cluster \(c.id) is \(nearest) m from any batch pothole")
        }
        #expect(try fingerprint(store) == fingerprint(batch), "every cluster, its events and its passes")
        #expect(try store.counts().events == batch.counts().events)
        #expect(try store.openTrips().isEmpty)
        // What was announced and not taken back is exactly what is stored.
        let announced = messages.filter { if case .event = $0 { true } else { false } }.count
        let removed = messages.filter { if case .eventRemoved = $0 { true } else { false } }.count
        #expect(announced - removed == (try store.counts().events))
        #expect(messages.filter { if case .tripClosed = $0 { true } else { false } }.count == 30)
    }

    @Test("killed mid-stream and sent again from the start: the store ends as if nothing happened")
    func resumeAfterKill() throws {
        let (batch, _) = try ingest([TestCity.shared.files])
        let store = try temporaryStore()
        let (bytes, _) = try killedAtHalf(store)
        let open = try store.openTrips()
        #expect(!open.isEmpty)
        let closedBefore = try store.counts().trips - open.count
        // The producer sends everything again.
        let messages = try stream(bytes, into: store)
        #expect(try store.openTrips().isEmpty)
        #expect(try fingerprint(store) == fingerprint(batch), "every cluster, its events and its passes")
        #expect(try store.counts().events == batch.counts().events)
        // Per trip: samples, events kept and events trimmed for privacy, counted once.
        let perTrip = "SELECT group_concat(name || ':' || samples || ':' || events || ':' || trimmed_events, ' ') FROM (SELECT * FROM trip ORDER BY name)"
        #expect(try store.text(perTrip) == batch.text(perTrip))
        #expect(try store.counts().trips == 30, "resumed, not stored as second trips")
        #expect(messages.filter { if case .tripClosed = $0 { true } else { false } }.count == 30 - closedBefore,
                "trips closed before the kill are not closed again: their resent rows are dropped")
    }

    @Test("killed mid-stream and continued without sending again: counts add up, and events near where the trips were picked up are kept")
    func continueAfterKill() throws {
        let (batch, _) = try ingest([TestCity.shared.files])
        let store = try temporaryStore()
        let (bytes, half) = try killedAtHalf(store)
        let resumed = Set(try store.openTrips().map(\.name))
        #expect(!resumed.isEmpty)
        // The producer goes on from where it was; the first row after the cut sets the time.
        let rest = Array(bytes[half...])
        let firstLine = try #require(try JSONSerialization.jsonObject(with: Data(rest.prefix { $0 != UInt8(ascii: "\n") })) as? [String: Any])
        let cut = try #require(firstLine["t"] as? Double)
        _ = try stream(rest, into: store)
        #expect(try store.openTrips().isEmpty)
        #expect(try store.counts().trips == 30)
        let perTrip = "SELECT group_concat(name || ':' || samples || ':' || fixes, ' ') FROM (SELECT * FROM trip ORDER BY name)"
        #expect(try store.text(perTrip) == batch.text(perTrip), "samples and fixes as if never killed")
        // The detector starts afresh at the cut; from 10 s to 3 minutes later batch ingest's events of the
        // resumed trips are all there, even those within the privacy distance of where this run
        // picked the trip up (that is not where it began).
        func events(_ s: TraceStore) throws -> Set<String> {
            let list = try s.text("SELECT group_concat(tr.name || '@' || CAST(e.t AS INTEGER), ' ') FROM event e JOIN trip tr ON tr.id = e.trip_id WHERE e.t > \(cut + 10_000) AND e.t < \(cut + 180_000)")
            return Set(list.split(separator: " ").map(String.init).filter { resumed.contains(String($0.split(separator: "@")[0])) })
        }
        let expected = try events(batch), kept = try events(store)
        #expect(expected.count >= 5)
        #expect(expected.subtracting(kept).count <= expected.count / 10, "\(expected.subtracting(kept).count) of \(expected.count) lost")
    }

    @Test("a trip a killed stream left open and nobody sends again is closed with the privacy trim")
    func dormantTripCloses() throws {
        let store = try temporaryStore()
        _ = try killedAtHalf(store)
        let open = try store.openTrips()
        #expect(!open.isEmpty)
        let restarted = try StreamSession(store: store, format: .ndjson, settings: StreamSettings())
        #expect(try restarted.recover(now: 100).isEmpty, "adopted, not closed at once")
        #expect(try restarted.poll(now: 120).isEmpty, "still within the idle timeout")
        let closing = try restarted.poll(now: 200)
        #expect(closing.filter { if case .tripClosed = $0 { true } else { false } }.count == open.count)
        #expect(try store.openTrips().isEmpty)
    }

    @Test("retention deletes trips a stream left open once they are that old, with their raw fixes; not while they are new")
    func retentionTakesStaleOpenTrips() throws {
        let store = try temporaryStore()
        _ = try killedAtHalf(store)
        let open = try store.openTrips()
        let fixesKept = Int(try store.text("SELECT COUNT(*) FROM stream_fix"))!
        #expect(!open.isEmpty && fixesKept > 0)
        // Their rows are months old (the simulated clock), but they were stored just now: a
        // stream may still be sending them, so they stay.
        #expect(try store.purgeTrips(storedBefore: Date().addingTimeInterval(-60)).trips == 0)
        #expect(try store.openTrips().count == open.count)
        // Once stored longer ago than the cutoff too, they go with their raw fixes.
        let trips = try store.counts().trips
        #expect(try store.purgeTrips(storedBefore: Date().addingTimeInterval(3_600)).trips == trips)
        #expect(try store.openTrips().isEmpty)
        #expect(try store.text("SELECT COUNT(*) FROM stream_fix") == "0")
    }

    /// A session that closes a trip after 5 s without rows and trims nothing.
    func shortIdleSession(_ store: TraceStore) throws -> StreamSession {
        var settings = StreamSettings()
        settings.ingest.privacyTrim = 0
        settings.idleTimeout = 5
        return try StreamSession(store: store, format: .ndjson, settings: settings)
    }

    /// `seconds` of a trip at 10 Hz from `t0` (ms), a fix every second.
    func tripRows(from t0: Double, seconds: Int) -> [TraceRow] {
        (0..<(seconds * 10)).map { i in
            let fix = i % 10 == 0
            return TraceRow(t: t0 + Double(i) * 100, ax: 0.1, ay: 9.8, az: 0.2, lat: fix ? 42.35 + Double(i) * 1e-6 : .nan,
                            lon: fix ? -71.06 : .nan, speed: fix ? 8 : .nan, accuracy: fix ? 5 : .nan)
        }
    }

    func ndjson(_ rows: [(row: TraceRow, trip: String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (row, trip) in rows { TraceWriter.appendNDJSON(row, trip: trip, device: "d1", to: &out) }
        return out
    }

    @Test("a trip that comes back after the idle timeout is stored as a second trip, not merged")
    func reopenedTrip() throws {
        let store = try temporaryStore()
        let session = try shortIdleSession(store)
        func rows(_ trip: String, from t0: Double, seconds: Int) -> [UInt8] {
            ndjson(tripRows(from: t0, seconds: seconds).map { ($0, trip) })
        }
        let t0 = 1_780_000_000_000.0
        var out = try rows("veh-1", from: t0, seconds: 20).withUnsafeBytes { try session.consume($0, now: 0) }
        // Another vehicle drives on; veh-1 falls idle and is closed.
        out += try rows("veh-2", from: t0 + 20_000, seconds: 20).withUnsafeBytes { try session.consume($0, now: 0) }
        #expect(out.contains { if case .tripClosed(let trip, _, _, _) = $0 { trip == "veh-1" } else { false } })
        out += try rows("veh-1", from: t0 + 40_000, seconds: 20).withUnsafeBytes { try session.consume($0, now: 0) }
        out += try session.finish()
        let closed = out.compactMap { if case .tripClosed(let trip, _, _, _) = $0 { trip } else { nil } }
        #expect(closed.sorted() == ["veh-1", "veh-1~2", "veh-2"])
        #expect(try store.existingTrips(["veh-1", "veh-1~2", "veh-2"]).count == 3)
        // A resident's deletion request for veh-1 takes its second segment too, nothing else.
        #expect(try store.purgeTrip(name: "veh-1").trips == 2)
        #expect(try store.existingTrips(["veh-1", "veh-1~2", "veh-2"]) == ["veh-2"])
    }

    @Test("one row with a wrong clock does not move the stream's clock: no other trip is closed early")
    func farFutureRow() throws {
        let session = try shortIdleSession(try temporaryStore())
        let t0 = 1_780_000_000_000.0
        var rows = ["veh-1", "veh-2"].flatMap { trip in tripRows(from: t0, seconds: 30).map { (row: $0, trip: trip) } }
        rows.sort { $0.row.t < $1.row.t }
        // Ten years ahead, halfway through.
        rows.insert((TraceRow(t: t0 + 10 * 365 * 86_400_000, ax: 0.1, ay: 9.8, az: 0.2), "veh-2"), at: rows.count / 2)
        let out = try ndjson(rows).withUnsafeBytes { try session.consume($0, now: 0) }
        #expect(!out.contains { if case .tripClosed = $0 { true } else { false } }, "\(out.map(\.json))")
        let closed = try session.finish().compactMap { if case .tripClosed(let trip, _, _, _) = $0 { trip } else { nil } }
        #expect(closed.sorted() == ["veh-1", "veh-2"])
    }

    @Test("malformed and over-long lines are reported with their line numbers and skipped; the stream goes on")
    func malformedLines() throws {
        let store = try temporaryStore()
        var settings = StreamSettings()
        settings.maxLineBytes = 200
        let session = try StreamSession(store: store, format: .ndjson, settings: settings)
        var text = ""
        for i in 0..<50 { text += "{\"trip\":\"a\",\"t\":\(1_780_000_000_000 + i * 20),\"ax\":0.1,\"ay\":9.8,\"az\":0.3}\n" }
        text += "{\"trip\":\"a\",\"t\":1780000001000,\"ax\":\"oops\",\"ay\":9.8,\"az\":0.3}\n"            // line 51
        text += "{\"trip\":\"a\",\"t\":1780000001020,\"ax\":0.1,\"pad\":\"\(String(repeating: "x", count: 500))\"}\n"  // line 52
        text += "{\"trip\":\"a\",\"t\":1780000001040,\"ax\":0.1,\"ay\":9.8,\"az\":0.3}\n"
        _ = try Array(text.utf8).withUnsafeBytes { try session.consume($0, now: 0) }
        let issues = session.takeIssues()
        #expect(issues.map(\.line) == [51, 52], "\(issues)")
        #expect(issues.first?.field == "ax")
        #expect(session.stats.rows == 51 && session.stats.rejectedRows == 2)
        #expect(session.takeIssues().isEmpty, "each issue is handed over once")
        _ = try session.finish()
    }
}
