import BumpCore
import BumpStore
import Foundation
import Hummingbird
import Open311

/// The read API for GIS tools and the review page: clusters as GeoJSON (or CSV) with filters
/// and paging, and one cluster with the evidence behind it.
public struct ClusterAPI: Sendable {
    public let store: TraceStore

    public init(store: TraceStore) { self.store = store }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        // Refusals are thrown as APIError; APIErrorMiddleware answers them.
        router.get("/api/v1/clusters") { request, _ in
            try self.list(request, csv: false)
        }
        router.get("/api/v1/clusters.csv") { request, _ in
            try self.list(request, csv: true)
        }
        router.get("/api/v1/clusters/:id") { request, context in
            guard let id = context.parameters.get("id", as: Int64.self), let c = try self.store.cluster(id: id) else {
                throw APIError(.notFound, "no such cluster")
            }
            let q = try Self.query(request)
            let limit = Int(min(max(try q["events_limit"].map { try Self.number($0, "events_limit") } ?? 500, 0), 10_000))
            let offset = Int(min(max(try q["events_offset"].map { try Self.number($0, "events_offset") } ?? 0, 0), 1e9))
            return Self.json(try self.evidence(c, eventsLimit: limit, eventsOffset: offset))
        }
    }

    /// The decoded query; a malformed one is refused rather than read as no filter at all.
    static func query(_ request: Request) throws -> [String: String] {
        guard let raw = request.uri.query, !raw.isEmpty else { return [:] }
        guard let q = FormEncoding.decode(raw) else {
            throw APIError(.badRequest, "the query string is not valid (a bad percent-escape, or not UTF-8)")
        }
        return q
    }

    /// Filters: `bbox=minLon,minLat,maxLon,maxLat`, `class=a,b`, `state=a,b`, `min_confidence`,
    /// `limit` (default 500, at most 10,000) and `offset`. Noise is left out unless asked for.
    func list(_ request: Request, csv: Bool) throws -> Response {
        let q = try Self.query(request)
        var classes: Set<ClusterClass>?
        if let c = q["class"], !c.isEmpty {
            classes = Set(try c.split(separator: ",").map { name in
                guard let k = ClusterClass(rawValue: String(name)) else {
                    throw APIError(.badRequest, "class must be one of \(ClusterClass.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'")
                }
                return k
            })
        }
        // Empty means no filter, as for `class`; a mistyped state is refused, not an empty answer.
        let states = try q["state"].flatMap { $0.isEmpty ? nil : $0 }.map { list in
            Set(try list.split(separator: ",").map { name in
                guard Self.states.contains(String(name)) else {
                    throw APIError(.badRequest, "state must be one of \(Self.states.joined(separator: ", ")), got '\(name)'")
                }
                return String(name)
            })
        }
        let minConfidence = try q["min_confidence"].map { try Self.number($0, "min_confidence") } ?? 0
        let box = try q["bbox"].map(Self.box)
        let limit = Int(min(max(try q["limit"].map { try Self.number($0, "limit") } ?? 500, 1), 10_000))
        let offset = Int(min(max(try q["offset"].map { try Self.number($0, "offset") } ?? 0, 0), 1e9))
        let all = try store.clusters(classes: classes).filter { c in
            (classes != nil || c.cls != .noise) && (states?.contains(c.state) ?? true) && c.confidence >= minConfidence
                && (box.map { c.lon >= $0.minLon && c.lon <= $0.maxLon && c.lat >= $0.minLat && c.lat <= $0.maxLat } ?? true)
        }
        let page = Array(all.dropFirst(offset).prefix(limit))
        if csv {
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: ClusterExport.csv(page))))
        }
        var geo = ClusterExport.geoJSON(page, crs: try store.setting("crs") ?? "")
        // Paging as RFC 7946 foreign members.
        geo = "{\"total\":\(all.count),\"offset\":\(offset),\"limit\":\(limit)," + geo.dropFirst()
        return Response(status: .ok, headers: [.contentType: "application/geo+json; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: geo)))
    }

    /// The review states a cluster can be in.
    static let states = ["candidate", "confirmed", "rejected", "known_asset"]

    /// One cluster: its GeoJSON feature, its events with their trips (`eventsLimit` after
    /// `eventsOffset`, oldest first; `events_total` says how many there are), its requests and
    /// the decisions made on it.
    func evidence(_ c: ClusterRecord, eventsLimit: Int = .max, eventsOffset: Int = 0) throws -> String {
        let feature = ClusterExport.geoJSON([c], crs: try store.setting("crs") ?? "")
        let line = feature.components(separatedBy: "\n").dropFirst().first ?? ""
        let featureJSON = line.isEmpty ? "null" : line
        let events = try store.events(ofCluster: c.id, limit: eventsLimit, offset: eventsOffset).map { trip, device, e in
            "{\"trip\":\(TraceWriter.jsonString(trip)),\"device\":\(device.map(TraceWriter.jsonString) ?? "null"),\"t\":\(TraceWriter.jsonString(Timestamp.iso(e.t))),"
                + "\"speed\":\(Self.num(e.speed, 2)),\"peak\":\(Self.num(e.peak, 3)),\"lateral_ratio\":\(Self.num(e.lateralRatio, 3)),"
                + "\"dip_to_strike\":\(Self.num(e.dipToStrike, 2)),"
                + "\"signature\":\(TraceWriter.jsonString(e.signature.rawValue)),\"jolts\":\(e.jolts),\"kind\":\(TraceWriter.jsonString(e.kind.rawValue)),"
                + "\"confidence\":\(Self.num(e.confidence, 3))}"
        }
        let requests = try store.filings(ofCluster: c.id).map { f in
            "{\"generation\":\(f.generation),\"state\":\(TraceWriter.jsonString(f.state.rawValue)),"
                + "\"service_request_id\":\(f.serviceRequestID.map(TraceWriter.jsonString) ?? "null"),"
                + "\"status\":\(f.requestStatus.map(TraceWriter.jsonString) ?? "null"),\"last_error\":\(f.lastError.map(TraceWriter.jsonString) ?? "null")}"
        }
        let reviews = try store.reviews(cluster: c.id).map { r in
            "{\"cluster_id\":\(r.clusterID),\"action\":\(TraceWriter.jsonString(r.action)),\"detail\":\(r.detail.map(TraceWriter.jsonString) ?? "null"),"
                + "\"actor\":\(TraceWriter.jsonString(r.actor)),\"at\":\(TraceWriter.jsonString(Timestamp.iso(r.at * 1_000)))}"
        }
        return "{\"cluster\":\(featureJSON),\"events_total\":\(c.summary.events),\"events_offset\":\(eventsOffset),\"events\":[\(events.joined(separator: ","))],\"requests\":[\(requests.joined(separator: ","))],"
            + "\"reviews\":[\(reviews.joined(separator: ","))]}"
    }

    static func json(_ body: String, status: HTTPResponse.Status = .ok, type: String = "application/json") -> Response {
        Response(status: status, headers: [.contentType: type + "; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: body + "\n")))
    }

    typealias Box = (minLon: Double, minLat: Double, maxLon: Double, maxLat: Double)

    /// A `bbox=minLon,minLat,maxLon,maxLat` argument, WGS84 degrees.
    static func box(_ text: String) throws -> Box {
        let v = try text.split(separator: ",", omittingEmptySubsequences: false).map { try number(String($0), "bbox") }
        guard v.count == 4, v[0] <= v[2], v[1] <= v[3] else { throw APIError(.badRequest, "bbox is minLon,minLat,maxLon,maxLat") }
        return (v[0], v[1], v[2], v[3])
    }

    static func number(_ text: String, _ field: String) throws -> Double {
        guard let v = Double(text), v.isFinite else { throw APIError(.badRequest, "\(field) must be a number, got '\(text)'") }
        return v
    }

    static func num(_ v: Double, _ places: Int) -> String { v.isFinite ? TraceWriter.fixed(v, places: places) : "null" }
}

/// A refused API call: its status, and its message as JSON `{"error": …}`.
struct APIError: Error {
    var status: HTTPResponse.Status
    var message: String
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    var response: Response { ClusterAPI.json("{\"error\":\(TraceWriter.jsonString(message))}", status: status) }
}

/// Errors under `/api/` answer JSON with a message: the routes' own refusals (`APIError`), and
/// an unknown route, a wrong method (404 here: the router does not tell them apart) or a body
/// too large, which would otherwise come back with an empty body a client cannot explain.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/api/") else { return try await next(request, context) }
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch let error as any HTTPResponseError {
            let fallback = switch error.status {
            case .notFound: "no such API route: \(request.method) \(request.uri.path)"
            case .contentTooLarge: "the request body is too large"
            default: error.status.reasonPhrase
            }
            let message = (error as? HTTPError)?.body ?? fallback
            return ClusterAPI.json("{\"error\":\(TraceWriter.jsonString(message))}", status: error.status)
        }
    }
}

