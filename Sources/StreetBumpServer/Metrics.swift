import BumpStore
import Foundation
import Hummingbird
import Synchronization

/// Counters the server keeps in memory, and `/metrics` in the Prometheus text format: these
/// plus what the store holds (trips, events, clusters by class and state, filings by state).
public final class ServerMetrics: Sendable {
    /// Upper bounds of the latency histogram, seconds.
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    private struct Latency {
        var counts = [Int](repeating: 0, count: ServerMetrics.buckets.count)
        var total = 0
        var sum = 0.0
    }
    private struct Counts {
        var requests: [String: Int] = [:]
        var latency: [String: Latency] = [:]
        var uploadBytes = 0
    }
    private let counts = Mutex(Counts())

    public init() {}

    /// One answered request: counted by route family and status, its time in the histogram.
    func record(route: String, status: Int, seconds: Double) {
        counts.withLock {
            $0.requests["route=\"\(route)\",status=\"\(status)\"", default: 0] += 1
            var l = $0.latency[route, default: Latency()]
            if let b = Self.buckets.firstIndex(where: { seconds <= $0 }) { l.counts[b] += 1 }
            l.total += 1
            l.sum += seconds
            $0.latency[route] = l
        }
    }

    /// Bytes of upload bodies received (before decompression).
    func recordUpload(bytes: Int) {
        counts.withLock { $0.uploadBytes += bytes }
    }

    /// A low-cardinality name for a path (never the path itself: trip names are private).
    static func route(of path: String) -> String {
        if path.hasPrefix("/api/v1/traces") { return "upload" }
        if path.hasPrefix("/api/v1/clusters") { return "clusters" }
        if path.hasPrefix("/api/v1/trips") { return "trips" }
        if path.hasPrefix("/api/") { return "api" }
        if path.hasPrefix("/open311/") { return "open311" }
        if path == "/metrics" || path == "/healthz" { return String(path.dropFirst()) }
        return "page"
    }

    func render(store: TraceStore) throws -> String {
        let snapshot = counts.withLock { $0 }
        let stored = try store.counts()
        let tallies = try store.tallies()
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for s in samples { out += s.labels.isEmpty ? "\(name) \(s.value)\n" : "\(name){\(s.labels)} \(s.value)\n" }
        }
        family("streetbump_http_requests_total", "counter", "HTTP requests answered, by route and status.",
               snapshot.requests.sorted { $0.key < $1.key }.map { ($0.key, String($0.value)) })
        var latency: [(labels: String, value: String)] = []
        for (route, l) in snapshot.latency.sorted(by: { $0.key < $1.key }) {
            var cumulative = 0
            for (b, bound) in Self.buckets.enumerated() {
                cumulative += l.counts[b]
                latency.append(("route=\"\(route)\",le=\"\(bound)\"", String(cumulative)))
            }
            latency.append(("route=\"\(route)\",le=\"+Inf\"", String(l.total)))
        }
        family("streetbump_http_request_duration_seconds", "histogram", "Time to answer, by route.", [])
        for s in latency { out += "streetbump_http_request_duration_seconds_bucket{\(s.labels)} \(s.value)\n" }
        for (route, l) in snapshot.latency.sorted(by: { $0.key < $1.key }) {
            out += "streetbump_http_request_duration_seconds_sum{route=\"\(route)\"} \(String(format: "%.6f", l.sum))\n"
            out += "streetbump_http_request_duration_seconds_count{route=\"\(route)\"} \(l.total)\n"
        }
        family("streetbump_upload_bytes_total", "counter", "Bytes of trace uploads received.", [("", String(snapshot.uploadBytes))])
        family("streetbump_samples", "gauge", "Samples read into the stored trips.", [("", String(try store.rowCount("SELECT COALESCE(SUM(samples), 0) FROM trip")))])
        family("streetbump_trips", "gauge", "Trips in the store.", [("", String(stored.trips))])
        family("streetbump_events", "gauge", "Bump events in the store.", [("", String(stored.events))])
        family("streetbump_clusters", "gauge", "Clusters by class and review state.",
               tallies.clusters.map { ("class=\"\($0.cls)\",state=\"\($0.state)\"", String($0.count)) })
        family("streetbump_filings", "gauge", "Open311 filings by state.",
               tallies.filings.map { ("state=\"\($0.state)\"", String($0.count)) })
        return out
    }

    func addRoutes(to router: Router<AppContext>, store: TraceStore) {
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: try self.render(store: store))))
        }
    }
}

/// Counts every answer in `ServerMetrics`, refusals included.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let route = ServerMetrics.route(of: request.uri.path)
        do {
            let response = try await next(request, context)
            metrics.record(route: route, status: response.status.code, seconds: (ContinuousClock.now - start).seconds)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.record(route: route, status: status, seconds: (ContinuousClock.now - start).seconds)
            throw error
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
