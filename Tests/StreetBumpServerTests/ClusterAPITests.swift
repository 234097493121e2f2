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

            let coverage = try await f.get("/api/v1/coverage?cell=50")
            #expect(coverage.status == 200 && coverage.type.hasPrefix("application/geo+json"))
            let squares = (try JSONSerialization.jsonObject(with: Data(coverage.body.utf8)) as? [String: Any])?["features"] as? [[String: Any]] ?? []
            #expect(!squares.isEmpty && squares.allSatisfy { (($0["properties"] as? [String: Any])?["distance_m"] as? Double ?? 0) > 0 })
            #expect(try await f.get("/api/v1/coverage?cell=100&format=csv").body.hasPrefix("x,y,lat,lon,size_m,distance_m,trips,devices\n"))
            #expect(try await f.get("/api/v1/coverage?cell=1").status == 400)
        }
    }
}

@Suite("staff merges and splits")
struct ClusterEditTests {
    @Test("a merge makes two clusters one and a split makes it two again; both survive re-clustering")
    func mergeThenSplit() async throws {
        try await ServerFixture.with { f in
            _ = try await f.post("/api/v1/traces", body: try Data(contentsOf: UploadTests.stream), headers: ["Content-Type": "application/x-ndjson"])
            let before = try f.store.clusters()
            // The two nearest clusters, as staff would merge them.
            var pair: (ClusterRecord, ClusterRecord)?
            var best = Double.infinity
            for a in before { for b in before where b.id > a.id {
                let d = (a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)
                if d < best { (best, pair) = (d, (a, b)) }
            } }
            let (a, b) = try #require(pair)
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
            #expect(try await f.post("/api/v1/clusters/\(after[0].id)/actions", body: Data(#"{"action":"merge","with":999999}"#.utf8), headers: json).status == 404)
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
