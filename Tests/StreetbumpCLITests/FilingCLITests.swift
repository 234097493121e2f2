import BumpCore
import BumpStore
import Foundation
import Testing

@Suite("streetbump file and requests")
struct FilingCLITests {
    @Test("file files each pothole once into the embedded queue; again, or after more trips, nothing is filed twice")
    func fileTwice() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        let sim = dir.appendingPathComponent("sim")
        #expect(try CLI.run(["simulate", "--out", sim.path, "--trips", "24", "--duration", "300", "--seed", "5"]).status == 0)
        let trips = try FileManager.default.contentsOfDirectory(atPath: sim.path).filter { $0.hasPrefix("trip-") }.sorted()
        let (first, second) = (trips.prefix(14).map { sim.appendingPathComponent($0).path }, trips.dropFirst(14).map { sim.appendingPathComponent($0).path })

        #expect(try CLI.run(["ingest", "--db", db] + first).status == 0)
        let filed = try CLI.run(["file", "--db", db])
        #expect(filed.status == 0, "\(filed.stderr)")
        let n = try #require(Self.count("filed", in: filed.stdout))
        #expect(n > 0, "\(filed.stdout)")
        let again = try CLI.run(["file", "--db", db])
        #expect(again.stdout.contains("queued 0, filed 0, linked 0"), "\(again.stdout)")

        // Re-ingesting the same traces changes nothing; more trips re-cluster (ids carry over).
        #expect(try CLI.run(["ingest", "--db", db] + first).stderr.contains("14 already ingested"))
        #expect(try CLI.run(["file", "--db", db]).stdout.contains("queued 0, filed 0"))
        #expect(try CLI.run(["ingest", "--db", db] + second).status == 0)
        let more = try CLI.run(["file", "--db", db])
        #expect(more.status == 0)
        #expect(try CLI.run(["file", "--db", db]).stdout.contains("queued 0, filed 0, linked 0"))

        let store = try TraceStore(path: db)
        let requests = try store.cityRequests(.init(start: .distantPast), serviceNames: [:]).map(\.request)
        let filings = try store.filings()
        #expect(requests.count == filings.filter { $0.state == .filed }.count)
        for (i, a) in requests.enumerated() {
            for b in requests[(i + 1)...] {
                let d = LocalGeodesy.distance((a.lat ?? 0, a.long ?? 0), (b.lat ?? 0, b.long ?? 0))
                #expect(d > 25, "requests \(a.serviceRequestID) and \(b.serviceRequestID) are \(d) m apart")
            }
        }
        #expect(Set(filings.map(\.clusterID)).count == filings.count, "one filing per cluster")

        let list = try CLI.run(["requests", "list", "--db", db])
        #expect(list.stdout.split(separator: "\n").count == filings.count + 1)
        let show = try CLI.run(["requests", "show", "1", "--db", db])
        #expect(show.stdout.contains("Pothole detected by streetbump") && show.stdout.contains("filed as request"))
        let key = try #require(try store.setting("open311_server_key"))
        for output in [filed, again, more, list, show] {
            #expect(!output.stdout.contains(key) && !output.stderr.contains(key), "the api_key must never be printed")
        }
    }

    @Test("a service the endpoint does not offer is refused at start-up with the list it does offer")
    func unknownService() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try TraceStore(path: dir.appendingPathComponent("s.sqlite").path)
        let r = try CLI.run(["file", "--db", dir.appendingPathComponent("s.sqlite").path],
                            environment: ["STREETBUMP_OPEN311_SERVICE_CODE": "graffiti"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("no service 'graffiti'") && r.stderr.contains("pothole (Pothole)"), "\(r.stderr)")
    }

    /// The number before `word` in "…, 5 filed, …" style summaries ("filed 5").
    static func count(_ word: String, in text: String) -> Int? {
        guard let r = text.range(of: word + " ") else { return nil }
        return Int(text[r.upperBound...].prefix { $0.isNumber })
    }
}
