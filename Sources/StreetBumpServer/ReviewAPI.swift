import BumpCore
import BumpGeo
import BumpIngest
import BumpStore
import Foundation
import Hummingbird

/// What the review page needs besides the read API: staff decisions, the driven streets, and
/// the page's settings.
public struct ReviewAPI: Sendable {
    public let store: TraceStore
    /// Re-clustering after a merge, split or purge works as ingest does.
    public let ingest: IngestSettings
    /// Base-map tiles (`https://…/{z}/{x}/{y}.png`); nil draws the driven streets instead.
    public let tileURL: String?

    /// Coverage grids already summed, per square size.
    private let coverageGrids = CoverageGrids()

    /// One decision at a time: each checks what the reviewer saw against the store, then acts,
    /// and two must not both pass the check (a double-click splitting twice).
    private let decisions = NSLock()

    public init(store: TraceStore, ingest: IngestSettings, tileURL: String?) {
        self.store = store
        self.ingest = ingest
        self.tileURL = tileURL
    }

    static let actions = ReviewAction.allCases.map(\.rawValue) + ["merge", "split"]

    public func addRoutes(to router: Router<AppContext>) {
        // Decisions are JSON only: a cross-site form cannot send that content type without the
        // browser asking first (and AccessMiddleware refuses cross-site requests besides).
        router.post("/api/v1/clusters/:id/actions") { request, context in
            var request = request
            guard (request.headers[.contentType] ?? "").lowercased().hasPrefix("application/json") else {
                throw APIError(.unsupportedMediaType, "send the action as application/json")
            }
            guard let id = context.parameters.get("id", as: Int64.self) else {
                throw APIError(.notFound, "no such cluster")
            }
            let body = try await request.collectBody(upTo: 16 << 10)
            guard let fields = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                  let name = fields["action"] as? String, Self.actions.contains(name) else {
                throw APIError(.badRequest, "action must be one of \(Self.actions.joined(separator: ", "))")
            }
            // With tokens, decisions are recorded under the token's name; locally, as the page says.
            let actor = context.caller.viaToken ? context.caller.name : (fields["actor"] as? String).map { String($0.prefix(100)) } ?? "local"
            return try self.decisions.withLock { try self.act(name, on: id, fields: fields, actor: actor) }
        }
        // A resident's deletion request.
        router.delete("/api/v1/trips/:name") { _, context in
            let name = try context.parameters.require("name")
            let purged = try self.store.purgeTrip(name: name)
            guard purged.trips > 0 else { throw APIError(.notFound, "no such trip") }
            _ = try ClusterUpdater.update(store: self.store, settings: self.ingest)
            return ClusterAPI.json("{\"trips\":\(purged.trips),\"events\":\(purged.events)}")
        }
        router.get("/api/v1/config") { _, _ in
            ClusterAPI.json("{\"tiles\":\(self.tileURL.map(TraceWriter.jsonString) ?? "null")}")
        }
        router.get("/api/v1/coverage") { request, _ in
            try self.coverage(request)
        }
    }

    /// A JSON integer (a number without a fraction, not a boolean) or a string of digits.
    static func integer(_ value: Any?) -> Int64? {
        if let s = value as? String { return Int64(s) }
        // JSON true and false come as NSNumbers of type char ("c"); numbers never do.
        guard let n = value as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
        let v = n.doubleValue
        return v == v.rounded() && v.magnitude < 1e15 ? Int64(v) : nil
    }

    func act(_ name: String, on id: Int64, fields: [String: Any], actor: String) throws -> Response {
        guard let cluster = try store.cluster(id: id) else { throw APIError(.notFound, "no such cluster: \(id) (merged, split or re-clustered since? reload)") }
        // What the reviewer saw, when the page says: someone may have acted since.
        if let seen = fields["expected_state"] as? String, seen != cluster.state {
            throw APIError(.conflict, "cluster \(id) is \(cluster.state) now, not \(seen): someone else decided meanwhile; look again")
        }
        // Merges and splits divide events, so they must divide the ones the reviewer saw; a
        // decision stands whatever hits came since (a busy stream would refuse every one).
        if name == "merge" || name == "split", let seen = Self.integer(fields["events"]), seen != Int64(cluster.summary.events) {
            throw APIError(.conflict, "cluster \(id) has \(cluster.summary.events) events now, not \(seen): it changed meanwhile; look again")
        }
        switch name {
        case "merge":
            guard let other = Self.integer(fields["with"]) else {
                throw APIError(.badRequest, "merge needs the other cluster's id (an integer) in 'with'")
            }
            if other == id { throw APIError(.badRequest, "a cluster cannot merge with itself") }
            guard try store.cluster(id: other) != nil else { throw APIError(.unprocessableContent, "there is no cluster \(other) to merge with") }
            switch try ClusterUpdater.merge(store: store, settings: ingest, id, with: other, actor: actor, at: Date()) {
            case .merged(let merged): return ClusterAPI.json("{\"ok\":true,\"clusters\":[\(merged)]}")
            case .missing: throw APIError(.notFound, "no such cluster")
            case .tooFar(let metres):
                let limit = Int(ClusterUpdater.maxMergeDistance(ingest))
                throw APIError(.unprocessableContent, "clusters \(id) and \(other) are \(Int(metres.rounded())) m apart: too far to be one defect (at most \(limit) m)")
            case let .decidedDifferently(a, b):
                throw APIError(.conflict, "cluster \(id) is \(a) and cluster \(other) \(b): reopen one before merging them")
            }
        case "split":
            guard let parts = try ClusterUpdater.split(store: store, settings: ingest, id, actor: actor, at: Date()) else {
                throw APIError(.unprocessableContent, "its events are all at one spot: nothing to split")
            }
            return ClusterAPI.json("{\"ok\":true,\"clusters\":[\(parts.map(String.init).joined(separator: ","))]}")
        default:
            let action = ReviewAction(rawValue: name)!
            let reason = (fields["reason"] as? String).map { String($0.prefix(1_000)) }
            if action == .reject, (reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw APIError(.badRequest, "a rejection needs a reason")
            }
            var kind: ClusterClass?
            if action == .knownAsset {
                guard let k = (fields["kind"] as? String).flatMap(ClusterClass.init(rawValue:)), [.casting, .speedHump, .railCrossing].contains(k) else {
                    throw APIError(.badRequest, "kind must be casting, speed_hump or rail_crossing")
                }
                kind = k
            }
            guard try store.review(cluster: id, action, detail: reason ?? kind?.rawValue, assetKind: kind, actor: actor, at: Date()) else {
                throw APIError(.notFound, "no such cluster")
            }
            return ClusterAPI.json("{\"ok\":true,\"clusters\":[\(id)]}")
        }
    }

    /// The coverage grid (`?cell=` metres, default 100; `?bbox=minLon,minLat,maxLon,maxLat`;
    /// `?format=csv`) as GeoJSON polygons or CSV.
    func coverage(_ request: Request) throws -> Response {
        let query = try ClusterAPI.query(request)
        let size = query["cell"].map { Double($0) ?? .nan } ?? 100
        guard CoverageExport.sizes.contains(size) else {
            throw APIError(.badRequest, "cell must be 5 to 100000 metres")
        }
        let box = try query["bbox"].map(ClusterAPI.box)
        var export = try coverageGrids.grid(store: store, size: size)
        if let box { export = try export?.within(minLon: box.minLon, minLat: box.minLat, maxLon: box.maxLon, maxLat: box.maxLat) }
        if query["format"] == "csv" {
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: export?.csv() ?? CoverageExport.csvHeader)))
        }
        return ClusterAPI.json(export?.geoJSON() ?? "{\"type\":\"FeatureCollection\",\"features\":[]}", type: "application/geo+json")
    }
}

/// Coverage grids kept between requests: summing a city's coverage reads every (cell, trip)
/// pair (tens of seconds at 10,000 trips), and the review page asks on every load and pan.
/// A grid is summed again once trips changed, at most once a minute per size, so a stream
/// storing all day does not keep the server summing.
final class CoverageGrids: @unchecked Sendable {
    private let lock = NSLock()
    private var grids: [Double: (version: String, at: Date, squares: [CoverageSquare], crs: String)] = [:]
    static let freshFor = 60.0
    static let sizesKept = 6

    func grid(store: TraceStore, size: Double) throws -> CoverageExport? {
        let version = try store.coverageVersion()
        let cached = lock.withLock { grids[size] }
        if let cached, cached.version == version || Date().timeIntervalSince(cached.at) < Self.freshFor {
            return try CoverageExport(squares: cached.squares, crs: cached.crs)
        }
        guard let export = try CoverageExport(store: store, size: size) else { return nil }
        lock.withLock {
            // Any size may be asked for; the page uses three. Keep a few, dropping the oldest.
            if grids[size] == nil, grids.count >= Self.sizesKept, let oldest = grids.min(by: { $0.value.at < $1.value.at })?.key {
                grids[oldest] = nil
            }
            grids[size] = (version, Date(), export.squares, export.crs)
        }
        return export
    }
}

