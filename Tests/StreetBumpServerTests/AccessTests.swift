import BumpStore
import Foundation
import Logging
import StreetBumpServer
import Testing

@Suite("access: tokens, roles, cross-site and host checks")
struct AccessTests {
    static let uploader = APIToken(name: "phone-gateway", role: .uploader, secret: "u-0123456789abcdef")
    static let staff = APIToken(name: "jdoe", role: .staff, secret: "s-0123456789abcdef")
    static let admin = APIToken(name: "ops", role: .admin, secret: "a-0123456789abcdef")

    static func bearer(_ t: APIToken) -> [String: String] { ["Authorization": "Bearer \(t.secret)"] }

    @Test("every endpoint enforces its role; decisions are recorded under the token's name")
    func roles() async throws {
        try await ServerFixture.with(tokens: [Self.uploader, Self.staff, Self.admin]) { f in
            let trace = try Data(contentsOf: UploadTests.stream)
            let ndjson = ["Content-Type": "application/x-ndjson"]
            // Nobody gets in without a token, or with a wrong or truncated one.
            let anonymous = try await f.post("/api/v1/traces", body: trace, headers: ndjson)
            #expect(anonymous.status == 401)
            #expect((anonymous.headers["Www-Authenticate"] ?? anonymous.headers["WWW-Authenticate"]) as? String == "Bearer realm=\"streetbump\"")
            #expect(try await f.send("GET", "/api/v1/clusters").status == 401)
            #expect(try await f.send("GET", "/api/v1/clusters", headers: ["Authorization": "Bearer s-0123456789abcde"]).status == 401)
            #expect(try await f.send("GET", "/api/v1/clusters", headers: ["Authorization": "Bearer s-0123456789abcdefX"]).status == 401)
            let padded = Self.staff.secret + String(repeating: "x", count: 256)
            #expect(try await f.send("GET", "/api/v1/clusters", headers: ["Authorization": "Bearer \(padded)"]).status == 401,
                    "a secret plus 256 bytes is not the secret")
            #expect(try await f.send("GET", "/api/v1/clusters", headers: ["Authorization": "Basic \(Self.staff.secret)"]).status == 401)

            // The uploader uploads and does nothing else.
            #expect(try await f.post("/api/v1/traces", body: trace, headers: ndjson.merging(Self.bearer(Self.uploader)) { a, _ in a }).status == 201)
            #expect(try await f.send("GET", "/api/v1/clusters", headers: Self.bearer(Self.uploader)).status == 403)
            let id = try #require(try f.store.clusters().first?.id)
            let confirm = Data(#"{"action":"confirm","actor":"someone-else"}"#.utf8)
            let json = ["Content-Type": "application/json"]
            #expect(try await f.post("/api/v1/clusters/\(id)/actions", body: confirm, headers: json.merging(Self.bearer(Self.uploader)) { a, _ in a }).status == 403)

            // Staff read and decide, under their own name whatever the body says; behind a
            // reverse proxy the page's origin is not the Host the server sees, and that is fine.
            #expect(try await f.send("GET", "/api/v1/clusters", headers: Self.bearer(Self.staff)).status == 200)
            let proxied = json.merging(Self.bearer(Self.staff)) { a, _ in a }.merging(["Origin": "https://streetbump.city.example"]) { a, _ in a }
            #expect(try await f.post("/api/v1/clusters/\(id)/actions", body: Data(#"{"action":"reject"}"#.utf8),
                                     headers: proxied.merging(["Sec-Fetch-Site": "cross-site"]) { a, _ in a }).status == 403)
            #expect(try await f.post("/api/v1/clusters/\(id)/actions", body: confirm, headers: proxied).status == 200)
            #expect(try f.store.reviews(cluster: id).map(\.actor) == ["jdoe"])
            #expect(try await f.send("GET", "/metrics", headers: Self.bearer(Self.staff)).status == 403)
            let trip = "trip-0001"
            #expect(try await f.send("DELETE", "/api/v1/trips/\(trip)", headers: Self.bearer(Self.staff)).status == 403)

            // Admin: metrics and a resident's deletion request.
            let metrics = try await f.send("GET", "/metrics", headers: Self.bearer(Self.admin))
            #expect(metrics.status == 200 && metrics.body.contains("streetbump_trips ") && metrics.body.contains("streetbump_clusters{class="))
            #expect(metrics.body.contains("route=\"upload\",status=\"201\"} 1") && metrics.body.contains("route=\"upload\",status=\"401\"} 1"))
            #expect(metrics.body.contains("streetbump_upload_bytes_total \(trace.count)") && metrics.body.contains("streetbump_samples "))
            #expect(metrics.body.contains("streetbump_http_request_duration_seconds_count{route=\"upload\"} 2"))
            #expect(!metrics.body.contains(Self.staff.secret) && !metrics.body.contains("trip-0001"), "no secrets, no trip names")
            #expect(try await f.send("DELETE", "/api/v1/trips/\(trip)", headers: Self.bearer(Self.admin)).status == 200)
            #expect(try await f.send("DELETE", "/api/v1/trips/\(trip)", headers: Self.bearer(Self.admin)).status == 404)

            // Odd spellings of protected paths reach the same routes: they need the same token.
            for path in ["//api/v1/clusters", "/api//v1/clusters", "/metrics/", "//metrics", "/%61pi/v1/clusters", "/api/v1/./clusters"] {
                #expect(try await f.send("GET", path).status == 401, "\(path)")
            }
            for path in ["//api/v1/trips/trip-0002", "/api/v1/%74rips/trip-0002", "/API/v1/trips/trip-0002", "/api/v1/./trips/trip-0002", "/api/x/../v1/trips/trip-0002"] {
                #expect(try await f.send("DELETE", path).status == 401, "\(path)")
                #expect(try await f.send("DELETE", path, headers: Self.bearer(Self.staff)).status == 403, "\(path)")
            }
            #expect(try await f.send("GET", "//metrics", headers: Self.bearer(Self.staff)).status == 403)
            #expect(try f.store.existingTrips(["trip-0002"]) == ["trip-0002"], "nothing deleted")

            // What anyone may read: the page, health, the Open311 endpoint.
            #expect(try await f.get("/").status == 200)
            #expect(try await f.get("/healthz").status == 200)
            #expect(try await f.get("/open311/v2/services.json").status == 200)
        }
    }

    @Test("a browser on another site cannot act, even with a token; the same origin can")
    func crossSite() async throws {
        try await ServerFixture.with { f in
            _ = try await f.post("/api/v1/traces", body: try Data(contentsOf: UploadTests.stream), headers: ["Content-Type": "application/x-ndjson"])
            let id = try #require(try f.store.clusters().first?.id)
            let path = "/api/v1/clusters/\(id)/actions", body = Data(#"{"action":"confirm"}"#.utf8)
            let json = ["Content-Type": "application/json"]
            #expect(try await f.post(path, body: body, headers: json.merging(["Origin": "https://evil.example"]) { a, _ in a }).status == 403)
            #expect(try await f.post(path, body: body, headers: json.merging(["Origin": "null"]) { a, _ in a }).status == 403)
            #expect(try await f.post(path, body: body, headers: json.merging(["Sec-Fetch-Site": "cross-site"]) { a, _ in a }).status == 403)
            #expect(try f.store.reviews(cluster: id).isEmpty, "nothing recorded")
            let origin = f.base
            #expect(try await f.post(path, body: body, headers: json.merging(["Origin": origin, "Sec-Fetch-Site": "same-origin"]) { a, _ in a }).status == 200)
        }
    }

    @Test("without tokens: loopback only, and a foreign Host (DNS rebinding) is refused")
    func openMode() async throws {
        let store = try TraceStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("access-\(UUID().uuidString).sqlite").path)
        #expect(throws: AccessError.self) {
            _ = try buildApplication(store: store, settings: ServerSettings(host: "0.0.0.0", port: 0, open311: .standard(apiKeys: [])), logger: Logger(label: "t"))
        }
        #expect(throws: Never.self) {
            var s = ServerSettings(host: "0.0.0.0", port: 0, open311: .standard(apiKeys: []))
            s.access = AccessSettings(tokens: [Self.staff])
            _ = try buildApplication(store: store, settings: s, logger: Logger(label: "t"))
        }
        try await ServerFixture.with { (f: ServerFixture) async throws in
            #expect(try await f.send("GET", "/api/v1/clusters", headers: ["Host": "attacker.example:\(f.server.port)"]).status == 403)
            #expect(try await f.send("GET", "/api/v1/clusters", headers: ["Host": "127.attacker.example:\(f.server.port)"]).status == 403)
            #expect(try await f.send("GET", "/api/v1/clusters", headers: ["Host": "localhost:\(f.server.port)"]).status == 200)
            #expect(try await f.send("GET", "/api/v1/clusters").status == 200)
        }
    }

    @Test("token lists: name:role:secret, with clear errors that never echo a secret")
    func tokenList() throws {
        let tokens = try APIToken.parseList(" ops:admin:a-0123456789abcdef , gw:uploader:u-0123456789abcdef:with-colon ")
        #expect(tokens == [APIToken(name: "ops", role: .admin, secret: "a-0123456789abcdef"),
                           APIToken(name: "gw", role: .uploader, secret: "u-0123456789abcdef:with-colon")])
        for bad in ["ops:root:a-0123456789abcdef", "ops:admin:short", "justasecret-0123456789"] {
            do {
                _ = try APIToken.parseList(bad)
                Issue.record("accepted \(bad)")
            } catch {
                #expect(!String(describing: error).contains("0123456789"), "\(error)")
            }
        }
    }
}
