import BumpStore
import Foundation
import Hummingbird
import Synchronization

/// Counters the server keeps in memory, and `/metrics` in the Prometheus text format: these
/// plus what the store holds (trips, events, clusters by class and state, filings by state).
public final class ServerMetrics: Sendable {
    private struct Counts {
        var requests: [String: Int] = [:]
        var seconds: [String: Double] = [:]
    }
    private let counts = Mutex(Counts())

    public init() {}

    /// One answered request: counted by route family and status, with its time.
    func record(route: String, status: Int, seconds: Double) {
        counts.withLock {
            $0.requests["route=\"\(route)\",status=\"\(status)\"", default: 0] += 1
            $0.seconds["route=\"\(route)\"", default: 0] += seconds
        }
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
        family("streetbump_http_request_seconds_total", "counter", "Time spent answering, by route.",
               snapshot.seconds.sorted { $0.key < $1.key }.map { ($0.key, String(format: "%.6f", $0.value)) })
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
