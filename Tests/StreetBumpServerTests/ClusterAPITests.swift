import Foundation
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
            #expect(try await f.get("/api/v1/clusters/999999").status == 404)
        }
    }
}
