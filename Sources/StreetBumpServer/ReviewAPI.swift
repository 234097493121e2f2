import BumpCore
import BumpGeo
import BumpStore
import Foundation
import Hummingbird

/// What the review page needs besides the read API: staff decisions, the driven streets, and
/// the page's settings.
public struct ReviewAPI: Sendable {
    public let store: TraceStore
    /// Base-map tiles (`https://…/{z}/{x}/{y}.png`); nil draws the driven streets instead.
    public let tileURL: String?

    public init(store: TraceStore, tileURL: String?) {
        self.store = store
        self.tileURL = tileURL
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        // Decisions are JSON only: a cross-site form cannot send that content type without the
        // browser asking first, so a page elsewhere cannot act for a logged-in reviewer.
        router.post("/api/v1/clusters/:id/actions") { request, context in
            var request = request
            guard (request.headers[.contentType] ?? "").lowercased().hasPrefix("application/json") else {
                return ClusterAPI.json("{\"error\":\"send the action as application/json\"}", status: .unsupportedMediaType)
            }
            guard let id = context.parameters.get("id", as: Int64.self) else {
                return ClusterAPI.json("{\"error\":\"no such cluster\"}", status: .notFound)
            }
            let body = try await request.collectBody(upTo: 16 << 10)
            guard let fields = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                  let name = fields["action"] as? String, let action = ReviewAction(rawValue: name) else {
                return ClusterAPI.json("{\"error\":\"action must be one of \(ReviewAction.allCases.map(\.rawValue).joined(separator: ", "))\"}", status: .badRequest)
            }
            let reason = (fields["reason"] as? String).map { String($0.prefix(1_000)) }
            if action == .reject, (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                return ClusterAPI.json("{\"error\":\"a rejection needs a reason\"}", status: .badRequest)
            }
            var kind: ClusterClass?
            if action == .knownAsset {
                guard let k = (fields["kind"] as? String).flatMap(ClusterClass.init(rawValue:)), [.casting, .speedHump, .railCrossing].contains(k) else {
                    return ClusterAPI.json("{\"error\":\"kind must be casting, speed_hump or rail_crossing\"}", status: .badRequest)
                }
                kind = k
            }
            let actor = (fields["actor"] as? String).map { String($0.prefix(100)) } ?? "staff"
            guard try self.store.review(cluster: id, action, detail: reason ?? kind?.rawValue, assetKind: kind, actor: actor, at: Date()) else {
                return ClusterAPI.json("{\"error\":\"no such cluster\"}", status: .notFound)
            }
            return ClusterAPI.json("{\"ok\":true}")
        }
        router.get("/api/v1/config") { _, _ in
            ClusterAPI.json("{\"tiles\":\(self.tileURL.map(TraceWriter.jsonString) ?? "null")}")
        }
        router.get("/api/v1/coverage") { _, _ in
            ClusterAPI.json(try self.coverage())
        }
    }

    /// Where trips drove, as a GeoJSON MultiPoint of covered cells (at most 50,000).
    func coverage() throws -> String {
        guard let crs = try store.setting("crs") else { return "{\"type\":\"MultiPoint\",\"coordinates\":[]}" }
        let transformer = try CRSTransformer(to: crs)
        let m = transformer.metresPerUnit
        let cells = try store.coveredCells(limit: 50_000)
        var xs = cells.map { Coverage.centre(of: $0).x / m }, ys = cells.map { Coverage.centre(of: $0).y / m }
        let failed = Set(transformer.inverse(xs: &xs, ys: &ys))
        let points = xs.indices.filter { !failed.contains($0) }.map { "[\(TraceWriter.fixed(xs[$0], places: 6)),\(TraceWriter.fixed(ys[$0], places: 6))]" }
        return "{\"type\":\"MultiPoint\",\"coordinates\":[\(points.joined(separator: ","))]}"
    }
}
