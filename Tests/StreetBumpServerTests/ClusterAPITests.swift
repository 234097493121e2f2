import Foundation
import BumpIngest
import BumpStore
import Testing

@Suite("cluster read API over HTTP")
struct ClusterAPITests {
    @Test("the read API: clusters as GeoJSON with filters and paging, CSV, and one cluster with its evidence")
    func readAPI() async throws {
        try await ServerFixture.with { f in
            _ = try await f.post("/api/v1/traces", body: try Data(contentsOf: UploadTests.stream), headers: ["Content-Type": "application/x-ndjson"])
            let all = try await f.get("/api/v1/clusters?class=pothole,casting,speed_hump,rail_crossing,noise")
            #expect(all.status == 200 && all.type.hasPrefix("application/geo+json"))
            let root = try #require(try JSONSerialization.jsonObject(with: Data(all.body.utf8)) as? [String: Any])
            #expect(root["type"] as? String == "FeatureCollection")
            let features = try #require(root["features"] as? [[String: Any]])
            #expect(!features.isEmpty && root["total"] as? Int == features.count)
            let first = try #require(features.first)
            let coordinates = try #require((first["geometry"] as? [String: Any])?["coordinates"] as? [Double])
            #expect((-72 ... -70).contains(coordinates[0]) && (41...43).contains(coordinates[1]), "longitude first")

            let paged = try JSONSerialization.jsonObject(with: Data(try await f.get("/api/v1/clusters?class=noise&limit=1&offset=1").body.utf8)) as? [String: Any]
            #expect((paged?["features"] as? [Any])?.count == min(1, max(features.count - 1, 0)))
            let nowhere = try await f.get("/api/v1/clusters?class=noise&bbox=10,10,11,11")
            #expect(nowhere.body.contains("\"total\":0"))
            #expect(try await f.get("/api/v1/clusters?class=crater").status == 400)
            #expect(try await f.get("/api/v1/clusters?bbox=1,2,3").status == 400)
            // A bad escape anywhere is refused, not read as "no filters".
            #expect(try await f.get("/api/v1/clusters?bbox=10,10,11,11&x=%E0%A4").status == 400)
            #expect(try await f.get("/api/v1/clusters?limit=1e19&offset=1e300").status == 200, "huge numbers are clamped, not a crash")

            let csv = try await f.get("/api/v1/clusters.csv?class=noise")
            #expect(csv.type.hasPrefix("text/csv") && csv.body.hasPrefix("id,lat,lon,x,y,class,confidence"))

            let id = try #require(first["id"] as? Int)
            let one = try await f.get("/api/v1/clusters/\(id)")
            let detail = try #require(try JSONSerialization.jsonObject(with: Data(one.body.utf8)) as? [String: Any])
            let events = try #require(detail["events"] as? [[String: Any]])
            let properties = try #require((detail["cluster"] as? [String: Any])?["properties"] as? [String: Any])
            #expect(events.count == properties["events"] as? Int)
            #expect(events.allSatisfy { $0["trip"] is String && $0["peak"] is Double })
            // Metres from dip to strike, or null where the phone was too slow to time it.
            #expect(events.allSatisfy { $0["dip_to_strike"] is Double || $0["dip_to_strike"] is NSNull })
            #expect(try await f.get("/api/v1/clusters/999999").status == 404)
            // The evidence comes in pages: a cluster of thousands of events is not one answer.
            let eventCount = { (f: [String: Any]) in (f["properties"] as? [String: Any])?["events"] as? Int ?? 0 }
            let big = try #require(features.max { eventCount($0) < eventCount($1) })
            let bigID = try #require(big["id"] as? Int), bigEvents = eventCount(big)
            #expect(bigEvents >= 1)
            let page = try #require(try JSONSerialization.jsonObject(with: Data(try await f.get("/api/v1/clusters/\(bigID)?events_limit=0").body.utf8)) as? [String: Any])
            #expect((page["events"] as? [Any])?.count == 0 && page["events_total"] as? Int == bigEvents, "\(page)")
            let rest = try #require(try JSONSerialization.jsonObject(with: Data(try await f.get("/api/v1/clusters/\(bigID)?events_offset=\(bigEvents - 1)").body.utf8)) as? [String: Any])
            #expect((rest["events"] as? [Any])?.count == 1 && rest["events_offset"] as? Int == bigEvents - 1, "\(rest)")

            // Refusals under /api/ are JSON with a message, unknown routes and mistyped filters included.
            let unknown = try await f.get("/api/v1/clustres")
            #expect(unknown.status == 404 && unknown.type.hasPrefix("application/json") && unknown.body.contains("no such API route"), "\(unknown)")
            let state = try await f.get("/api/v1/clusters?state=confirmd")
            #expect(state.status == 400 && state.body.contains("state must be one of"), "\(state)")
            let tooLarge = try await f.post("/api/v1/clusters/\(id)/actions", body: Data(repeating: 32, count: 20_000), headers: ["Content-Type": "application/json"])
            #expect(tooLarge.status == 413 && tooLarge.body.contains("\"error\""), "\(tooLarge.status) \(tooLarge.body)")

            let coverage = try await f.get("/api/v1/coverage?cell=50")
            #expect(coverage.status == 200 && coverage.type.hasPrefix("application/geo+json"))
            let squares = (try JSONSerialization.jsonObject(with: Data(coverage.body.utf8)) as? [String: Any])?["features"] as? [[String: Any]] ?? []
            #expect(!squares.isEmpty && squares.allSatisfy { (($0["properties"] as? [String: Any])?["distance_m"] as? Double ?? 0) > 0 })
            #expect(try await f.get("/api/v1/coverage?cell=100&format=csv").body.hasPrefix("x,y,lat,lon,size_m,distance_m,trips,devices\n"))
            #expect(try await f.get("/api/v1/coverage?cell=1").status == 400)
            // The squares in a map's view only; a bad box is refused.
            let lon = coordinates[0], lat = coordinates[1]
            let near = try await f.get("/api/v1/coverage?cell=50&bbox=\(lon - 0.01),\(lat - 0.01),\(lon + 0.01),\(lat + 0.01)")
            let nearSquares = (try JSONSerialization.jsonObject(with: Data(near.body.utf8)) as? [String: Any])?["features"] as? [Any] ?? []
            #expect(!nearSquares.isEmpty && nearSquares.count <= squares.count)
            #expect(try await f.get("/api/v1/coverage?cell=50&bbox=10,10,11,11").body.contains("\"features\":[\n\n]"))
            for bad in ["1,2,3", "1,2,x,3", "3,2,1,4"] { #expect(try await f.get("/api/v1/coverage?bbox=\(bad)").status == 400, "\(bad)") }
        }
    }
}

@Suite("staff merges and splits")
struct ClusterEditTests {
    /// The two nearest clusters, as staff would merge them.
    static func nearestPair(_ clusters: [ClusterRecord]) -> (ClusterRecord, ClusterRecord)? {
        var pair: (ClusterRecord, ClusterRecord)?
        var best = Double.infinity
        for a in clusters { for b in clusters where b.id > a.id {
            let d = (a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)
            if d < best { (best, pair) = (d, (a, b)) }
        } }
        return pair
    }

    @Test("decisions stay with the defect through a merge; actions on what changed meanwhile are refused; a double split splits once")
    func decisionsAndConflicts() async throws {
        try await ServerFixture.with { f in
            _ = try await f.post("/api/v1/traces", body: try Data(contentsOf: UploadTests.stream), headers: ["Content-Type": "application/x-ndjson"])
            let json = ["Content-Type": "application/json"]
            func act(_ id: Int64, _ body: String) async throws -> (status: Int, body: String) {
                let r = try await f.post("/api/v1/clusters/\(id)/actions", body: Data(body.utf8), headers: json)
                return (r.status, r.body)
            }
            let (a, b) = try #require(Self.nearestPair(try f.store.clusters()))
            // The smaller of the two is rejected, then merged into the bigger: the merged
            // cluster keeps the bigger one's id and takes the rejection with it.
            let (big, small) = a.summary.events >= b.summary.events ? (a, b) : (b, a)
            #expect(try await act(small.id, #"{"action":"reject","reason":"utility patch","expected_state":"candidate"}"#).status == 200)
            let merge = try await act(big.id, #"{"action":"merge","with":\#(small.id)}"#)
            #expect(merge.status == 200, "\(merge.body)")
            let merged = try #require(try f.store.clusters().first { $0.summary.events == a.summary.events + b.summary.events })
            #expect(merged.state == "rejected", "the rejection stays with the defect")
            let history = try f.store.reviews(cluster: merged.id)
            #expect(history.contains { $0.action == "reject" && $0.clusterID == small.id }, "\(history)")
            #expect(Set(history.filter { $0.action == "merge" }.map(\.clusterID)) == [big.id, small.id], "the merge is in both histories")

            // Someone saw it as a candidate: the store says otherwise, so nothing changes.
            let stale = try await act(merged.id, #"{"action":"confirm","expected_state":"candidate"}"#)
            #expect(stale.status == 409 && stale.body.contains("is rejected now"), "\(stale.body)")
            #expect(try f.store.cluster(id: merged.id)?.state == "rejected")

            // Two splits of what the reviewer saw, at once (a double-click): one splits, the other is refused.
            let seen = #"{"action":"split","events":\#(merged.summary.events)}"#
            async let first = act(merged.id, seen)
            async let second = act(merged.id, seen)
            let answers = try await [first, second]
            #expect(answers.map(\.status).sorted() == [200, 409], "\(answers)")
            #expect(try f.store.reviews(cluster: merged.id).filter { $0.action == "split" }.count == 1)

            // The split parts: one keeps the rejection, the other is new. Decided differently,
            // they cannot be merged until one is reopened.
            let split = try #require(answers.first { $0.status == 200 })
            let ids = try #require((try JSONSerialization.jsonObject(with: Data(split.body.utf8)) as? [String: Any])?["clusters"] as? [Int])
            let parts = try ids.compactMap { try f.store.cluster(id: Int64($0)) }
            let fresh = try #require(parts.first { $0.state == "candidate" })
            let kept = try #require(parts.first { $0.state == "rejected" })
            #expect(try await act(fresh.id, #"{"action":"confirm"}"#).status == 200)
            let conflict = try await act(kept.id, #"{"action":"merge","with":\#(fresh.id)}"#)
            #expect(conflict.status == 409 && conflict.body.contains("reopen one"), "\(conflict.status) \(conflict.body) \(parts.map { ($0.id, $0.state) })")
        }
    }

    @Test("a merge makes two clusters one and a split makes it two again; both survive re-clustering")
    func mergeThenSplit() async throws {
        try await ServerFixture.with { f in
            _ = try await f.post("/api/v1/traces", body: try Data(contentsOf: UploadTests.stream), headers: ["Content-Type": "application/x-ndjson"])
            let before = try f.store.clusters()
            let (a, b) = try #require(Self.nearestPair(before))
            let events = a.summary.events + b.summary.events
            let json = ["Content-Type": "application/json"]
            let merge = try await f.post("/api/v1/clusters/\(a.id)/actions", body: Data(#"{"action":"merge","with":\#(b.id)}"#.utf8), headers: json)
            #expect(merge.status == 200, "\(merge.body)")
            let merged = try #require(try f.store.clusters().first { $0.summary.events == events })
            #expect(try f.store.clusters().count == before.count - 1)
            #expect(merge.body.contains("\"clusters\":[\(merged.id)]"))

            // New evidence re-clusters everything: the merge holds.
            _ = try ClusterUpdater.update(store: f.store, settings: IngestSettings())
            #expect(try f.store.clusters().count == before.count - 1)

            let split = try await f.post("/api/v1/clusters/\(merged.id)/actions", body: Data(#"{"action":"split"}"#.utf8), headers: json)
            #expect(split.status == 200, "\(split.body)")
            _ = try ClusterUpdater.update(store: f.store, settings: IngestSettings())
            let after = try f.store.clusters()
            #expect(after.count == before.count)
            #expect(Set(after.map(\.summary.events)) == Set(before.map(\.summary.events)), "the split divides where the clusters were")
            #expect(try f.store.reviews(cluster: a.id).first?.action == "merge", "recorded on the cluster it was asked of")
            #expect(try f.store.reviews(cluster: merged.id).last?.action == "split")

            #expect(try await f.post("/api/v1/clusters/\(a.id)/actions", body: Data(#"{"action":"merge"}"#.utf8), headers: json).status == 400)
            let missing = try await f.post("/api/v1/clusters/\(after[0].id)/actions", body: Data(#"{"action":"merge","with":999999}"#.utf8), headers: json)
            #expect(missing.status == 422 && missing.body.contains("no cluster 999999"), "the other id is the one missing: \(missing.body)")
            // Not an id: refused, not read as 1.
            for with in ["true", "1.9", "\"x\""] {
                let r = try await f.post("/api/v1/clusters/\(after[0].id)/actions", body: Data(#"{"action":"merge","with":\#(with)}"#.utf8), headers: json)
                #expect(r.status == 400, "\(with): \(r.body)")
            }
            // A mistyped id far across the city: refused, nothing recorded.
            let c = after[0]
            let far = try #require(after.max { ($0.x - c.x) * ($0.x - c.x) + ($0.y - c.y) * ($0.y - c.y) < ($1.x - c.x) * ($1.x - c.x) + ($1.y - c.y) * ($1.y - c.y) })
            let refused = try await f.post("/api/v1/clusters/\(c.id)/actions", body: Data(#"{"action":"merge","with":\#(far.id)}"#.utf8), headers: json)
            #expect(refused.status == 422 && refused.body.contains("too far to be one defect"), "\(refused.body)")
            #expect(try f.store.clusters().count == after.count)
            #expect(try f.store.reviews(cluster: c.id).allSatisfy { $0.action != "merge" })
        }
    }
}
