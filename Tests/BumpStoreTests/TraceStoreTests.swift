import BumpCore
import BumpStore
import Foundation
import Testing

@Suite("SQLite store")
struct TraceStoreTests {
    func temporaryStore() throws -> (TraceStore, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("streetbump-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return (try TraceStore(path: dir.appendingPathComponent("test.sqlite").path), dir)
    }

    @Test("a file's trips go in one transaction and the file is remembered by hash")
    func ingest() throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        let event = StoredEvent(event: BumpEvent(trip: 0, t: 1_000, lat: 42.35, lon: -71.07, accuracy: 4, speed: 10, heading: 90, peak: 5), x: 100, y: 200, key: 7)
        let trip = TripRecord(name: "trip-1", device: "phone", start: 0, end: 60_000, samples: 6000, fixes: 60, rate: 100,
                              trimmedEvents: 0, events: [event], coverage: [CoverageCell(cell: 1, direction: 2)])
        try store.ingest(source: SourceRecord(hash: "abc", path: "a.csv", bytes: 10, rows: 5, rejectedRows: 0), trips: [trip])
        #expect(try store.ingestedSource(hash: "abc") == "a.csv")
        #expect(try store.existingTrips(["trip-1", "trip-2"]) == ["trip-1"])
        #expect(try store.counts().events == 1)
        // The same trip name again violates the schema: nothing of the second batch stays.
        #expect(throws: (any Error).self) {
            try store.ingest(source: SourceRecord(hash: "def", path: "b.csv", bytes: 10, rows: 5, rejectedRows: 0), trips: [trip])
        }
        #expect(try store.ingestedSource(hash: "def") == nil)
        #expect(try store.counts().events == 1)
        #expect(try store.passingTrips(cells: [1]) == [2: [1]])
        #expect(try store.integrityCheck() == "ok")
    }

    @Test("cluster ids are never given out twice, even after the highest one is gone")
    func clusterIDsNeverReused() throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: dir) }
        func cluster(_ id: Int64) -> ClusterRecord {
            ClusterRecord(id: id, x: 0, y: 0, lat: 42, lon: -71, cls: .noise, confidence: 0, summary: ClusterSummary(), reasons: [])
        }
        var seen: Int64 = -1
        try store.updateClusters { snapshot in
            seen = snapshot.highestID
            return ([cluster(1), cluster(7)], [])
        }
        #expect(seen == 0)
        try store.updateClusters { _ in ([cluster(1)], []) }
        try store.updateClusters { snapshot in
            seen = snapshot.highestID
            return ([cluster(1)], [])
        }
        #expect(seen == 7, "cluster 7 is gone, but its id stays spent")
    }
}
