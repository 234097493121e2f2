import BumpCore
import BumpIngest
import BumpStore
import Foundation
import Hummingbird
import Open311

/// `POST /api/v1/traces`: a finished trip (canonical CSV, NDJSON, a single-file phone export
/// such as Physics Toolbox or phyphox CSV, a GPX track, or gzip of any) read,
/// detected and stored as its body streams in, answered with the trip summary. The same content
/// uploaded again gets the same answer and changes nothing.
public struct UploadEndpoint: Sendable {
    public let store: TraceStore
    public let ingest: IngestSettings
    public let limits: UploadLimits
    let metrics: ServerMetrics
    /// Concurrent uploads share re-clusterings (see `Coalescing`).
    let reclustering = Coalescing()

    public init(store: TraceStore, ingest: IngestSettings, limits: UploadLimits, metrics: ServerMetrics = ServerMetrics()) {
        self.store = store
        self.ingest = ingest
        self.limits = limits
        self.metrics = metrics
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/api/v1/traces") { request, _ in
            do {
                return try await self.upload(request)
            } catch let e as UploadError {
                return Self.json(["error": e.message], status: .init(code: e.status))
            } catch let e as TraceReadError {
                return Self.json(["error": e.description], status: .badRequest)
            } catch let e as StoreError {
                // E.g. no GPS fix anywhere and no CRS yet: the upload cannot be placed.
                return Self.json(["error": e.description], status: .unprocessableContent)
            } catch where StoreError.isConflict(error) {
                // A concurrent upload of the same content or trip name won the race.
                return Self.json(["error": "could not store the upload: \(error)"], status: .conflict)
            } catch {
                // The store failed (busy past its timeout, disk full): the phone should try again,
                // and clients do not retry a 4xx.
                var r = Self.json(["error": "could not store the upload now, try again later: \(error)"], status: .serviceUnavailable)
                r.headers[.retryAfter] = "30"
                return r
            }
        }
    }

    /// The content types an upload may have, and the format each one means (nil: recognised
    /// from the body). CSV is recognised by its header: canonical, or a phone app's single-file export.
    static let acceptedTypes: [(type: String, format: TraceFormat?)] = [
        ("text/csv", nil), ("text/plain", nil),
        ("application/x-ndjson", .ndjson), ("application/jsonl", .ndjson), ("application/json", .ndjson),
        ("application/gpx+xml", .gpx),
        ("application/gzip", nil), ("application/x-gzip", nil), ("application/octet-stream", nil),
    ]

    func upload(_ request: Request) async throws -> Response {
        let type = (request.headers[.contentType] ?? "").lowercased()
        let encoding = (request.headers[.contentEncoding] ?? "").lowercased()
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limits.maxBytes {
            throw UploadError(status: 413, "the body (\(length) bytes) exceeds \(limits.maxBytes) bytes")
        }
        let bare = type.split(separator: ";").first.map({ $0.trimmingCharacters(in: .whitespaces) }) ?? ""
        guard let accepted = Self.acceptedTypes.first(where: { $0.type == bare }) ?? (bare.isEmpty ? ("", nil) : nil) else {
            throw UploadError(status: 415, "send one of \(Self.acceptedTypes.map(\.type).joined(separator: ", ")), not \(type)")
        }
        let format = accepted.format
        let gzip: Bool? = encoding == "gzip" || type.hasPrefix("application/gzip") || type.hasPrefix("application/x-gzip") ? true : nil
        // A body without a trip column is one trip: named by `?trip=`, else uniquely (the same
        // content uploaded again is recognised by its hash, not its name).
        var query: [String: String] = [:]
        if let raw = request.uri.query, !raw.isEmpty {
            guard let decoded = FormEncoding.decode(raw) else {
                throw UploadError(status: 400, "the query string is not valid (a bad percent-escape, or not UTF-8)")
            }
            query = decoded
        }
        let trip = query["trip"].flatMap { $0.isEmpty ? nil : String($0.prefix(120)) } ?? "upload-" + UUID().uuidString.lowercased().prefix(13)
        let upload = TraceUpload(name: trip, format: format, gzip: gzip, limits: limits, detector: ingest.detector)
        for try await buffer in request.body {
            metrics.recordUpload(bytes: buffer.readableBytes)
            try buffer.withUnsafeReadableBytes { try upload.consume($0) }
        }
        let detected = try upload.finish()
        if detected.outcome.stats.rows == 0 {
            // Nothing usable: say why rather than answer "created" for an empty trip.
            let why = detected.outcome.issues.first.map { "line \($0.line): \($0.field.map { "field '\($0)': " } ?? "")\($0.reason)" } ?? "the body holds no rows"
            throw UploadError(status: 400, "no valid rows (\(detected.outcome.stats.rejectedRows) rejected); first problem: \(why)")
        }
        if let previous = try store.sourceSummary(hash: detected.outcome.hash) {
            return Self.response(previous, status: .ok)
        }
        let writer = try StoreWriter(store: store, settings: ingest)
        let outcome: StoreOutcome
        do {
            outcome = try writer.write(detected) { Self.summary(detected, $0) }
        } catch where StoreError.isConflict(error) {
            // A concurrent upload took the same content or trip name first: once more, now
            // that the store holds it (the same content is recognised, another name is chosen).
            outcome = try writer.write(detected) { Self.summary(detected, $0) }
        }
        if case .alreadyIngested = outcome.status {
            // A file ingested by path before, or a concurrent upload of the same content.
            return Self.response(try store.sourceSummary(hash: detected.outcome.hash) ?? Self.summary(detected, outcome), status: .ok)
        }
        let (store, ingest) = (self.store, self.ingest)
        try await reclustering.run { _ = try ClusterUpdater.update(store: store, settings: ingest) }
        return Self.response(Self.summary(detected, outcome), status: .created)
    }

    static func summary(_ d: DetectedTrace, _ o: StoreOutcome) -> String {
        let s = d.outcome.stats
        let trips = o.storedTrips.map {
            "{\"name\":\(TraceWriter.jsonString($0.name)),\"samples\":\($0.samples),\"events\":\($0.events),\"trimmed_events\":\($0.trimmedEvents)}"
        }
        let issues = d.outcome.issues.prefix(20).map {
            "{\"line\":\($0.line),\"field\":\(TraceWriter.jsonString($0.field ?? "")),\"reason\":\(TraceWriter.jsonString($0.reason))}"
        }
        return "{\"hash\":\(TraceWriter.jsonString(d.outcome.hash)),\"format\":\"\(d.outcome.format.rawValue)\",\"bytes\":\(d.outcome.bytes),"
            + "\"rows\":\(s.rows),\"rejected_rows\":\(s.rejectedRows),\"trips\":[\(trips.joined(separator: ","))],"
            + "\"duplicate_trips\":[\(o.duplicateTrips.map(TraceWriter.jsonString).joined(separator: ","))],"
            + "\"renamed_trips\":[\(o.renamedTrips.map { "{\"from\":\(TraceWriter.jsonString($0.from)),\"to\":\(TraceWriter.jsonString($0.to))}" }.joined(separator: ","))],"
            + "\"events\":\(o.events),\"trimmed_events\":\(o.trimmedEvents),\"issues\":[\(issues.joined(separator: ","))]}"
    }

    /// 201 for a new upload, 200 with the same body for the same content again.
    static func response(_ body: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: body + "\n")))
    }

    static func json(_ fields: [String: String], status: HTTPResponse.Status) -> Response {
        let body = "{" + fields.sorted { $0.key < $1.key }.map { "\(TraceWriter.jsonString($0.key)):\(TraceWriter.jsonString($0.value))" }.joined(separator: ",") + "}"
        return response(body, status: status)
    }
}
