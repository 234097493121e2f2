import BumpStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `make load`: 50 concurrent uploads against `streetbump serve` on loopback for a minute
/// (STREETBUMP_LOAD_SECONDS), then checks nothing was lost and reports latency percentiles.
/// Off in `make test`: it takes minutes and only means something on an idle machine.
@Suite("load: concurrent uploads against serve", .enabled(if: ProcessInfo.processInfo.environment["STREETBUMP_LOAD"] == "1"))
struct LoadTests {
    static let workers = 50

    @Test("50 concurrent uploads for a minute: no errors, no lost trips")
    func concurrentUploads() async throws {
        let env = ProcessInfo.processInfo.environment
        let seconds = Double(env["STREETBUMP_LOAD_SECONDS"] ?? "") ?? 60
        let binary = env["STREETBUMP_BIN"].map { URL(fileURLWithPath: $0) } ?? CLI.binary
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let traces = dir.appendingPathComponent("traces")
        #expect(try CLI.run(["simulate", "--out", traces.path, "--trips", "40", "--duration", "120", "--seed", "5"]).status == 0)
        let bodies = try FileManager.default.contentsOfDirectory(atPath: traces.path).filter { $0.hasPrefix("trip-") }.sorted()
            .map { try Data(contentsOf: traces.appendingPathComponent($0)) }
        #expect(bodies.count == 40)

        let db = dir.appendingPathComponent("load.sqlite").path
        let (serve, base) = try await CLI.serve(["--db", db, "--no-file", "--privacy-trim", "0"], binary: binary)
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }

        let config = URLSessionConfiguration.ephemeral
        config.httpMaximumConnectionsPerHost = Self.workers
        config.timeoutIntervalForRequest = 300
        let session = URLSession(configuration: config)
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .seconds(seconds)
        // Every upload is new content (trailing newlines differ) under a new trip name.
        let results = try await withThrowingTaskGroup(of: [(status: Int, ms: Double, bytes: Int)].self) { group in
            for w in 0..<Self.workers {
                group.addTask {
                    var out: [(status: Int, ms: Double, bytes: Int)] = []
                    var n = 0
                    while clock.now < deadline {
                        let i = w + Self.workers * n
                        n += 1
                        var body = bodies[i % bodies.count]
                        body.append(contentsOf: [UInt8](repeating: UInt8(ascii: "\n"), count: i / bodies.count + 1))
                        var request = URLRequest(url: URL(string: base + "/api/v1/traces?trip=load-\(i)")!)
                        request.httpMethod = "POST"
                        request.setValue("text/csv", forHTTPHeaderField: "Content-Type")
                        let sent = clock.now
                        let status: Int
                        do {
                            let (_, response) = try await session.upload(for: request, from: body)
                            status = (response as? HTTPURLResponse)?.statusCode ?? -1
                        } catch {
                            status = -1
                        }
                        let d = (clock.now - sent).components
                        out.append((status, Double(d.seconds) * 1000 + Double(d.attoseconds) / 1e15, body.count))
                    }
                    return out
                }
            }
            var all: [(status: Int, ms: Double, bytes: Int)] = []
            for try await part in group { all += part }
            return all
        }
        let elapsed = (clock.now - start).components
        let wall = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        let created = results.filter { $0.status == 201 }.count
        let failures = Dictionary(grouping: results.filter { $0.status != 201 }, by: \.status).mapValues(\.count)
        let ms = results.map(\.ms).sorted()
        func pct(_ p: Double) -> String { String(format: "%.0f", ms[min(ms.count - 1, Int(Double(ms.count) * p))]) }
        let mb = Double(results.reduce(0) { $0 + $1.bytes }) / 1e6
        print("""
            load: \(Self.workers) concurrent uploads for \(String(format: "%.0f", wall)) s: \(results.count) uploads \
            (\(String(format: "%.1f", Double(results.count) / wall))/s, \(String(format: "%.1f", mb / wall)) MB/s), \
            \(created) created, failures \(failures); latency ms p50 \(pct(0.5)) p90 \(pct(0.9)) p99 \(pct(0.99)) max \(pct(1))
            """)

        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0, "serve stopped cleanly")
        #expect(failures.isEmpty, "no errors under load")
        let store = try TraceStore(path: db)
        #expect(try store.counts().trips == created, "every created upload is a stored trip")
        #expect(try store.integrityCheck() == "ok")
    }
}
