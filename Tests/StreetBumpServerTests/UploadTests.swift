import BumpIngest
import BumpStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import StreetBumpServer
import Testing

/// A store served by the real application on a loopback port.
final class ServerFixture: Sendable {
    let dir: URL
    let store: TraceStore
    let server: BackgroundServer
    let base: String

    init(limits: UploadLimits = UploadLimits(), tokens: [APIToken] = []) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("streetbump-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try TraceStore(path: dir.appendingPathComponent("s.sqlite").path)
        var settings = ServerSettings(host: "127.0.0.1", port: 0, open311: .standard(apiKeys: ["k"]))
        settings.uploadLimits = limits
        settings.ingest.privacyTrim = 0
        settings.access = AccessSettings(tokens: tokens)
        let store = self.store
        server = try await BackgroundServer.start(logger: Logger(label: "test")) { onRunning in
            try buildApplication(store: store, settings: settings, logger: Logger(label: "test"), onServerRunning: onRunning)
        }
        base = "http://127.0.0.1:\(server.port)"
    }

    static func with(limits: UploadLimits = UploadLimits(), tokens: [APIToken] = [], _ body: (ServerFixture) async throws -> Void) async throws {
        let f = try await ServerFixture(limits: limits, tokens: tokens)
        do {
            try await body(f)
        } catch {
            await f.close()
            throw error
        }
        await f.close()
    }

    func close() async {
        await server.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    func get(_ path: String) async throws -> (status: Int, body: String, type: String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: base + path)!)
        let http = response as! HTTPURLResponse
        return (http.statusCode, String(decoding: data, as: UTF8.self), http.value(forHTTPHeaderField: "Content-Type") ?? "")
    }

    func post(_ path: String, body: Data, headers: [String: String]) async throws -> (status: Int, body: String, headers: [AnyHashable: Any]) {
        try await send("POST", path, body: body, headers: headers)
    }

    func send(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> (status: Int, body: String, headers: [AnyHashable: Any]) {
        var r = URLRequest(url: URL(string: base + path)!)
        r.httpMethod = method
        r.httpBody = body
        r.timeoutInterval = 120
        for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await URLSession.shared.data(for: r)
        let http = response as! HTTPURLResponse
        return (http.statusCode, String(decoding: data, as: UTF8.self), http.allHeaderFields)
    }
}

/// gzip from Debian's gzip, so the test does not trust our own compressor (we have none).
func gzipped(_ data: Data) throws -> Data {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/gzip")
    p.arguments = ["-c"]
    let input = Pipe(), output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    try p.run()
    let writer = Thread {
        input.fileHandleForWriting.write(data)
        try? input.fileHandleForWriting.close()
    }
    writer.start()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return out
}

@Suite("trace uploads over HTTP")
struct UploadTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let csvTrip = root.appendingPathComponent("SampleTraces/city/trip-0003.csv")
    static let stream = root.appendingPathComponent("SampleTraces/stream/trips.ndjson")

    @Test("a CSV trip is stored and summarised; the same body again gets the same answer and changes nothing")
    func idempotent() async throws {
        try await ServerFixture.with { f in
            let body = try Data(contentsOf: Self.csvTrip)
            let first = try await f.post("/api/v1/traces?trip=veh-7%2F2026-11-23", body: body, headers: ["Content-Type": "text/csv"])
            #expect(first.status == 201, "\(first.body)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(first.body.utf8)) as? [String: Any])
            #expect(summary["format"] as? String == "csv" && (summary["rows"] as? Int ?? 0) > 1_000)
            #expect((summary["trips"] as? [[String: Any]])?.first?["name"] as? String == "veh-7/2026-11-23")
            let counts = try f.store.counts()
            let again = try await f.post("/api/v1/traces", body: body, headers: ["Content-Type": "text/csv"])
            #expect(again.status == 200 && again.body == first.body)
            #expect(try f.store.counts() == counts)
        }
    }

    @Test("gzip of NDJSON with many trips is read as it streams in")
    func gzipNDJSON() async throws {
        try await ServerFixture.with { f in
            let body = try gzipped(try Data(contentsOf: Self.stream))
            let r = try await f.post("/api/v1/traces", body: body, headers: ["Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"])
            #expect(r.status == 201, "\(r.body)")
            #expect(r.body.contains("\"format\":\"ndjson\"") && r.body.contains("\"trip-0001\"") && r.body.contains("\"trip-0003\""))
            #expect(try f.store.counts().trips == 3)
            // The same content uncompressed is the same upload.
            let plain = try await f.post("/api/v1/traces", body: try Data(contentsOf: Self.stream), headers: ["Content-Type": "application/x-ndjson"])
            #expect(plain.status == 200 && plain.body == r.body)
        }
    }

    @Test("oversized bodies, gzip bombs, truncated gzip, zips, junk, a gigantic line, deep JSON and wrong types are refused with a 4xx and nothing is stored")
    func hostile() async throws {
        var limits = UploadLimits()
        limits.maxBytes = 200_000
        try await ServerFixture.with(limits: limits) { f in
            let big = try await f.post("/api/v1/traces", body: try Data(contentsOf: Self.stream), headers: ["Content-Type": "application/x-ndjson"])
            #expect(big.status == 413, "\(big.body)")
            let bomb = try gzipped(Data(count: 60 << 20))
            #expect(bomb.count < limits.maxBytes)
            let exploded = try await f.post("/api/v1/traces", body: bomb, headers: ["Content-Type": "application/gzip"])
            #expect(exploded.status == 413 && exploded.body.contains("bomb"), "\(exploded.body)")
            let trip = try gzipped(try Data(contentsOf: Self.csvTrip))
            let truncated = try await f.post("/api/v1/traces", body: trip.prefix(trip.count / 2), headers: ["Content-Type": "text/csv", "Content-Encoding": "gzip"])
            #expect(truncated.status == 400, "\(truncated.body)")
            let junk = try await f.post("/api/v1/traces", body: Data((0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }), headers: ["Content-Type": "application/x-ndjson"])
            #expect(junk.status == 400, "\(junk.body)")
            let png = try await f.post("/api/v1/traces", body: Data("x".utf8), headers: ["Content-Type": "image/png"])
            #expect(png.status == 415)
            for type in ["text/csv", "text/plain", "application/x-ndjson", "application/jsonl", "application/json", "application/gpx+xml", "application/gzip", "application/x-gzip", "application/octet-stream"] {
                #expect(png.body.contains(type), "the 415 names every accepted type: \(png.body)")
            }
            // A zip (exports are read from files, not uploads), declared or not.
            let zip = Data([0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 2_000))
            #expect(try await f.post("/api/v1/traces", body: zip, headers: ["Content-Type": "application/zip"]).status == 415)
            #expect(try await f.post("/api/v1/traces", body: zip, headers: ["Content-Type": "application/octet-stream"]).status == 400)
            // One gigantic line, and JSON nested 30,000 deep: refused, not read into memory or recursed.
            let line = try await f.post("/api/v1/traces", body: Data(repeating: UInt8(ascii: "1"), count: 190_000), headers: ["Content-Type": "text/csv"])
            #expect(line.status == 400, "\(line.body)")
            let nested = Data((String(repeating: "{\"a\":", count: 30_000) + "1" + String(repeating: "}", count: 30_000) + "\n").utf8)
            let deep = try await f.post("/api/v1/traces", body: nested, headers: ["Content-Type": "application/x-ndjson"])
            #expect(deep.status == 400, "\(deep.body.prefix(600))")
            #expect(try f.store.counts().trips == 0 && f.store.counts().events == 0)
        }
    }
}
