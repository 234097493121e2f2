import BumpCore
import BumpFiling
import BumpStore
import Foundation
import Logging
import Open311
import StreetBumpServer
import Synchronization
import Testing

/// The city server's clock, moved by hand so deferred ids do not depend on machine speed.
final class CityClock: Sendable {
    private let date = Mutex(Date())
    var now: Date { date.withLock { $0 } }
    func advance(_ seconds: Double) { date.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// streetbump's store with pothole clusters, and a city's Open311 server (the embedded
/// endpoint on its own store) behind a fault-injecting proxy, all real, on loopback.
final class FilingFixture: Sendable {
    static let key = "city-key-42"
    let dir: URL
    let store: TraceStore
    let city: TraceStore
    let server: BackgroundServer
    let proxy: FaultProxy
    let cityClock = CityClock()
    /// The pothole clusters that should each end with exactly one request.
    let potholes: [ClusterRecord]

    init(potholes count: Int = 5, idDelay: Double = 0, pageLimit: Int = 1_000) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("streetbump-filing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = try TraceStore(path: dir.appendingPathComponent("streetbump.sqlite").path)
        city = try TraceStore(path: dir.appendingPathComponent("city.sqlite").path)
        var open311 = Open311ServerSettings.standard(apiKeys: [Self.key])
        open311.idDelay = idDelay
        open311.pageLimit = pageLimit
        let settings = ServerSettings(host: "127.0.0.1", port: 0, open311: open311)
        let city = self.city, clock = cityClock
        server = try await BackgroundServer.start(logger: Logger(label: "city")) { onRunning in
            try buildApplication(store: city, settings: settings, logger: Logger(label: "city"), now: { clock.now }, onServerRunning: onRunning)
        }
        proxy = try FaultProxy(upstreamPort: server.port)
        // Potholes about 110 m apart, and clusters that must never be filed.
        potholes = (0..<count).map { Self.cluster(id: Int64($0 + 1), lat: 42.35 + Double($0) * 0.001, cls: .pothole, confidence: 0.95) }
        let others = [
            Self.cluster(id: 101, lat: 42.34, cls: .casting, confidence: 0.9),
            Self.cluster(id: 102, lat: 42.339, cls: .pothole, confidence: 0.3),
            Self.cluster(id: 103, lat: 42.338, cls: .pothole, confidence: 0.99, state: "rejected"),
        ]
        try store.setSetting("crs", "EPSG:32619")
        try replaceClusters(potholes + others)
    }

    static func with(potholes: Int = 5, idDelay: Double = 0, pageLimit: Int = 1_000, _ body: (FilingFixture) async throws -> Void) async throws {
        let f = try await FilingFixture(potholes: potholes, idDelay: idDelay, pageLimit: pageLimit)
        do {
            try await body(f)
        } catch {
            await f.close()
            throw error
        }
        await f.close()
    }

    func close() async {
        proxy.close()
        await server.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    static func cluster(id: Int64, lat: Double, lon: Double = -71.06, cls: ClusterClass, confidence: Double, state: String = "candidate") -> ClusterRecord {
        var s = ClusterSummary()
        s.events = 9
        s.trips = 8
        s.hits = 8
        s.passes = 10
        s.hitRatio = 0.8
        s.severity = 4
        s.medianPeak = 6
        s.firstSeen = 1_780_000_000_000
        s.lastSeen = 1_780_100_000_000
        return ClusterRecord(id: id, x: 330_000, y: 4_690_000 + (lat - 42.35) * 111_000, lat: lat, lon: lon, cls: cls,
                             confidence: confidence, summary: s, reasons: ["test"], state: state)
    }

    func replaceClusters(_ clusters: [ClusterRecord], assignAllEventsTo target: Int64? = nil) throws {
        try store.updateClusters { snapshot in
            (clusters, target.map { t in snapshot.points.map { (event: $0.id, cluster: t) } } ?? [])
        }
    }

    /// A pothole request made in the city's queue by someone else (a resident), or by a POST
    /// whose answer was lost when `description` carries an entry's reference.
    @discardableResult
    func cityReport(lat: Double, lon: Double = -71.06, description: String = "hole", at: Date? = nil) throws -> ServiceRequest {
        try city.addCityRequest(
            NewRequest(serviceCode: "pothole", lat: lat, long: lon, description: description, attributes: ["severity": "high"]),
            serviceName: "Pothole", jurisdictionID: nil, notice: nil, at: at ?? cityClock.now).request
    }

    var baseURL: URL { URL(string: "http://127.0.0.1:\(proxy.port)/open311/v2")! }

    /// Generous timeouts: a test machine under load must not turn into injected faults.
    func settings(timeout: Double = 30) -> FilingSettings {
        var s = FilingSettings(endpoint: GeoReportEndpoint(baseURL: baseURL, apiKey: Self.key, timeout: timeout), serviceCode: "pothole")
        s.backoffBase = 0.05
        s.backoffCap = 0.3
        s.maxAttempts = 20
        // The proxy answers (or drops) only after the server finished, so no long settling is needed.
        s.unknownOutcomeDelay = min(timeout, 0.5)
        s.postsPerMinute = 60_000
        s.reviewURL = "https://streetbump.example/review#cluster={id}"
        return s
    }

    func filer(_ settings: FilingSettings? = nil, now: @escaping @Sendable () -> Date = { Date() }) async throws -> Filer {
        try await Filer.connect(store: store, settings: settings ?? self.settings(), logger: Logger(label: "filer"), now: now)
    }

    /// Every request on the city's server, open or closed.
    func cityRequests() throws -> [ServiceRequest] {
        try city.cityRequests(.init(start: .distantPast), serviceNames: [:]).map(\.request)
    }

    /// The invariant of every scenario: each pothole has exactly one request near it, and no
    /// other request exists (beyond `extra` filed by someone else).
    func expectExactlyOnePerPothole(extra: Int = 0, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let requests = try cityRequests()
        #expect(requests.count == potholes.count + extra, "requests on the server: \(requests.count)", sourceLocation: sourceLocation)
        for p in potholes {
            let near = requests.filter { LocalGeodesy.distance((p.lat, p.lon), ($0.lat ?? 0, $0.long ?? 0)) < 25 }
            #expect(near.count == 1, "cluster \(p.id) has \(near.count) requests", sourceLocation: sourceLocation)
        }
        #expect(try store.integrityCheck() == "ok", sourceLocation: sourceLocation)
    }
}
