import BumpStore
import Foundation
import Hummingbird
import Open311

/// The embedded GeoReport v2 endpoint, backed by the store's request queue. Any Open311 client
/// can read it; streetbump files to it when a city has no 311 server of its own.
public struct Open311Endpoint: Sendable {
    public let store: TraceStore
    public let settings: Open311ServerSettings
    /// Where the endpoint is mounted, e.g. `/open311/v2`.
    public let basePath: String
    let now: @Sendable () -> Date

    public init(store: TraceStore, settings: Open311ServerSettings, basePath: String = "/open311/v2",
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.settings = settings
        self.basePath = basePath
        self.now = now
    }

    /// Adds the endpoint's routes to `router`.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("\(basePath)/:file") { request, context in
            try await self.respond { format in
                switch try Self.resource(context.parameters.require("file"), format: &format) {
                case "discovery": return self.discovery(request, format: format)
                case "services": return self.services(format: format)
                case "requests": return try self.listRequests(request, format: format)
                default: throw Open311Failure(.notFound, "no such resource; see \(self.basePath)/discovery.json")
                }
            }
        }
        router.post("\(basePath)/:file") { request, context in
            var request = request
            let file = try context.parameters.require("file")
            let body = try await request.collectBody(upTo: 64 * 1024)
            return try await self.respond { format in
                guard try Self.resource(file, format: &format) == "requests" else {
                    throw Open311Failure(.notFound, "requests are posted to \(self.basePath)/requests.json or .xml")
                }
                return try self.postRequest(request, body: body, format: format)
            }
        }
        router.get("\(basePath)/services/:file") { _, context in
            try await self.respond { format in
                let code = try Self.resource(context.parameters.require("file"), format: &format)
                guard self.settings.services.contains(where: { $0.serviceCode == code }) else {
                    throw Open311Failure(.notFound, "no service with service_code '\(code)'")
                }
                let d = self.settings.definitions[code] ?? ServiceDefinition(serviceCode: code, attributes: [])
                return format.render(json: d, xml: GeoReportXML.definition(d))
            }
        }
        router.get("\(basePath)/requests/:file") { _, context in
            try await self.respond { format in
                let id = try Self.resource(context.parameters.require("file"), format: &format)
                guard let r = try self.store.cityRequest(id: id, serviceNames: self.serviceNames), self.visible(r) else {
                    throw Open311Failure(.notFound, "no service request with id '\(id)'")
                }
                return format.render(json: [r.request], xml: GeoReportXML.requests([r.request]))
            }
        }
        router.get("\(basePath)/tokens/:file") { _, context in
            try await self.respond { format in
                let token = try Self.resource(context.parameters.require("file"), format: &format)
                guard let r = try self.store.cityRequest(token: token, serviceNames: self.serviceNames) else {
                    throw Open311Failure(.notFound, "no request with token '\(token)'")
                }
                let answer = TokenAnswer(serviceRequestID: self.visible(r) ? r.request.serviceRequestID : nil, token: token)
                return format.render(json: [answer], xml: GeoReportXML.tokens([answer]))
            }
        }
    }

    // MARK: Resources

    func discovery(_ request: Request, format: Format) -> Response {
        let changeset = Date(timeIntervalSince1970: 1_767_225_600)  // when this service list last changed
        let root = (request.head.authority.map { "http://\($0)" } ?? "") + basePath
        let d = Discovery(changeset: changeset, contact: settings.contact, keyService: "Ask the city's public-works office for an api_key.",
                          endpoints: [.init(specification: "http://wiki.open311.org/GeoReport_v2", url: root, changeset: changeset,
                                            type: "production", formats: ["application/json", "text/xml"])])
        return format.render(json: d, xml: GeoReportXML.discovery(d))
    }

    func services(format: Format) -> Response {
        format.render(json: settings.services, xml: GeoReportXML.services(settings.services))
    }

    func listRequests(_ request: Request, format: Format) throws -> Response {
        // The spec: an optional argument sent empty is as if it were not sent.
        let q = try Self.query(request).filter { !$0.value.trimmingCharacters(in: .whitespaces).isEmpty }
        var query = TraceStore.CityRequestQuery(limit: settings.pageLimit)
        // Lists are comma-separated; one with nothing in it is as if it were not sent.
        func list(_ name: String) -> [String]? {
            let items = (q[name] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return items.isEmpty ? nil : items
        }
        if let ids = list("service_request_id") {
            // The spec: ids override every other filter.
            query.ids = ids
        } else {
            query.serviceCodes = list("service_code")
            if let listed = list("status") {
                let statuses = listed.map { $0.lowercased() }
                if let bad = statuses.first(where: { $0 != "open" && $0 != "closed" }) {
                    throw Open311Failure(.badRequest, "status must be open or closed, got '\(bad)'")
                }
                query.statuses = statuses
            }
            let start = try q["start_date"].map { try Self.date($0, field: "start_date") }
            let end = try q["end_date"].map { try Self.date($0, field: "end_date") }
            // The spec's window is at most 90 days: the last 90 without dates, 90 from (or up to)
            // a single date, and a longer span is refused.
            let window = 90.0 * 86_400
            switch (start, end) {
            case (nil, nil): (query.start, query.end) = (now().addingTimeInterval(-window), nil)
            case (let s?, nil): (query.start, query.end) = (s, s.addingTimeInterval(window))
            case (nil, let e?): (query.start, query.end) = (e.addingTimeInterval(-window), e)
            case (let s?, let e?):
                guard e.timeIntervalSince(s) <= window else {
                    throw Open311Failure(.badRequest, "start_date and end_date may not span more than 90 days")
                }
                (query.start, query.end) = (s, e)
            }
        }
        let found = try store.cityRequests(query, serviceNames: serviceNames).filter(visible).map(\.request)
        return format.render(json: found, xml: GeoReportXML.requests(found))
    }

    func postRequest(_ request: Request, body: ByteBuffer, format: Format) throws -> Response {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.isEmpty || contentType.lowercased().hasPrefix("application/x-www-form-urlencoded") else {
            throw Open311Failure(.badRequest, "post the fields as application/x-www-form-urlencoded, not \(contentType)")
        }
        guard let pairs = FormEncoding.decodePairs(String(buffer: body)) else {
            throw Open311Failure(.badRequest, "the form body is not valid (bad percent-escape or not UTF-8)")
        }
        var fields: [String: String] = [:]
        for (k, v) in pairs { fields[k] = v }
        guard let key = fields["api_key"], !key.isEmpty else { throw Open311Failure(.forbidden, "api_key is required") }
        guard settings.apiKeys.contains(where: { Self.constantTimeEquals($0, key) }) else {
            throw Open311Failure(.forbidden, "api_key is not valid")
        }
        if let j = settings.jurisdictionID, let given = fields["jurisdiction_id"], !given.isEmpty, given != j {
            throw Open311Failure(.notFound, "jurisdiction_id '\(given)' is not served here")
        }
        let new = try validate(fields, pairs: pairs)
        let name = serviceNames[new.serviceCode] ?? new.serviceCode
        let stored = try store.addCityRequest(new, serviceName: name, jurisdictionID: fields["jurisdiction_id"],
                                              notice: nil, at: now(), idHiddenFor: settings.idDelay)
        let receipt = settings.idDelay > 0
            ? RequestReceipt(token: stored.token)
            : RequestReceipt(serviceRequestID: stored.request.serviceRequestID)
        return format.render(json: [receipt], xml: GeoReportXML.receipts([receipt]))
    }

    /// The spec's rules for a new request: a known service, a location, valid attributes.
    /// `pairs` are the fields in order, for the repeated `attribute[code][]` of a multivaluelist.
    func validate(_ f: [String: String], pairs: [(String, String)]) throws -> NewRequest {
        guard let code = f["service_code"], !code.isEmpty else { throw Open311Failure(.badRequest, "service_code is required") }
        guard settings.services.contains(where: { $0.serviceCode == code }) else {
            throw Open311Failure(.notFound, "no service with service_code '\(code)'")
        }
        var new = NewRequest(serviceCode: code)
        let lat = f["lat"].flatMap { $0.isEmpty ? nil : $0 }, long = f["long"].flatMap { $0.isEmpty ? nil : $0 }
        if lat != nil || long != nil {
            guard let la = lat.flatMap(Double.init), let lo = long.flatMap(Double.init),
                  (-90...90).contains(la), (-180...180).contains(lo) else {
                throw Open311Failure(.badRequest, "lat and long must both be given, in WGS84 degrees")
            }
            new.lat = la
            new.long = lo
        }
        new.addressString = f["address_string"].flatMap { $0.isEmpty ? nil : $0 }
        new.addressID = f["address_id"].flatMap { $0.isEmpty ? nil : $0 }
        guard new.lat != nil || new.addressString != nil || new.addressID != nil else {
            throw Open311Failure(.badRequest, "a location is required: lat and long, address_string or address_id")
        }
        if let d = f["description"], d.count > 4_000 { throw Open311Failure(.badRequest, "description is longer than 4,000 characters") }
        new.description = f["description"]
        new.email = f["email"]
        new.deviceID = f["device_id"]
        new.accountID = f["account_id"]
        new.firstName = f["first_name"]
        new.lastName = f["last_name"]
        new.phone = f["phone"]
        new.mediaURL = f["media_url"]
        for (k, v) in pairs where k.hasPrefix("attribute[") {
            if k.hasSuffix("][]") {
                new.listAttributes[String(k.dropFirst("attribute[".count).dropLast(3)), default: []].append(v)
            } else if k.hasSuffix("]") {
                new.attributes[String(k.dropFirst("attribute[".count).dropLast())] = v
            }
        }
        for a in settings.definitions[code]?.attributes ?? [] where a.variable {
            if a.datatype == "multivaluelist" {
                // One value may come as attribute[code] too; several only as attribute[code][].
                let values = (new.listAttributes[a.code] ?? new.attributes[a.code].map { [$0] } ?? []).filter { !$0.isEmpty }
                new.attributes[a.code] = nil
                new.listAttributes[a.code] = values.isEmpty ? nil : values
                if values.isEmpty, a.required { throw Open311Failure(.badRequest, "attribute[\(a.code)][] is required: \(a.description)") }
                if let bad = values.first(where: { v in !a.values.contains { $0.key == v } }) {
                    throw Open311Failure(.badRequest, "attribute[\(a.code)][] values must be among \(a.values.map(\.key).joined(separator: ", ")), got '\(bad)'")
                }
                continue
            }
            let value = new.attributes[a.code] ?? ""
            if value.isEmpty {
                if a.required { throw Open311Failure(.badRequest, "attribute[\(a.code)] is required: \(a.description)") }
                continue
            }
            if a.datatype == "singlevaluelist", !a.values.contains(where: { $0.key == value }) {
                throw Open311Failure(.badRequest, "attribute[\(a.code)] must be one of \(a.values.map(\.key).joined(separator: ", ")), got '\(value)'")
            }
            if a.datatype == "number", Double(value) == nil {
                throw Open311Failure(.badRequest, "attribute[\(a.code)] must be a number, got '\(value)'")
            }
        }
        return new
    }

    // MARK: Plumbing

    var serviceNames: [String: String] {
        Dictionary(settings.services.map { ($0.serviceCode, $0.serviceName) }, uniquingKeysWith: { a, _ in a })
    }

    /// Deferred-id requests are known only by token until their id is released.
    func visible(_ r: TraceStore.CityRequest) -> Bool { r.idHiddenUntil <= now() }

    /// Runs a handler and turns failures into the spec's error list, in the requested format.
    func respond(_ handler: (inout Format) async throws -> Response) async throws -> Response {
        var format = Format.json
        do {
            return try await handler(&format)
        } catch let f as Open311Failure {
            return format.errors([ErrorItem(code: Int(f.status.code), description: f.message)], status: f.status)
        } catch let e as HTTPError {
            return format.errors([ErrorItem(code: Int(e.status.code), description: e.body ?? e.status.reasonPhrase)], status: e.status)
        } catch {
            return format.errors([ErrorItem(code: 500, description: "the server could not do this: \(error)")], status: .internalServerError)
        }
    }

    /// Splits `services.json` into the resource and its format (json when no extension).
    static func resource(_ file: String, format: inout Format) throws -> String {
        guard let dot = file.lastIndex(of: ".") else { return file }
        let ext = file[file.index(after: dot)...].lowercased()
        switch ext {
        case "json": format = .json
        case "xml": format = .xml
        default: throw Open311Failure(.badRequest, "format must be .json or .xml, got .\(ext)")
        }
        return String(file[..<dot])
    }

    static func query(_ request: Request) throws -> [String: String] {
        guard let q = request.uri.query, !q.isEmpty else { return [:] }
        guard let fields = FormEncoding.decode(q) else { throw Open311Failure(.badRequest, "the query string is not valid") }
        return fields
    }

    static func date(_ text: String, field: String) throws -> Date {
        guard let d = GeoReportTime.parse(text) else {
            throw Open311Failure(.badRequest, "\(field) must be an ISO 8601 time with a zone, e.g. 2026-11-23T08:00:00Z; got '\(text)'")
        }
        return d
    }

    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return diff == 0
    }
}

/// A request the endpoint refuses, with the spec's status and a message for the caller.
struct Open311Failure: Error {
    var status: HTTPResponse.Status
    var message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// JSON or XML, as the path's extension asks.
enum Format {
    case json, xml

    func render<T: Encodable>(json value: T, xml: @autoclosure () -> String, status: HTTPResponse.Status = .ok) -> Response {
        switch self {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(value)) ?? Data("[]".utf8)
            return Self.response(ByteBuffer(bytes: data), type: "application/json; charset=utf-8", status: status)
        case .xml:
            return Self.response(ByteBuffer(string: xml()), type: "text/xml; charset=utf-8", status: status)
        }
    }

    func errors(_ items: [ErrorItem], status: HTTPResponse.Status) -> Response {
        render(json: items, xml: GeoReportXML.errors(items), status: status)
    }

    static func response(_ body: ByteBuffer, type: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: type, .cacheControl: "no-store"], body: .init(byteBuffer: body))
    }
}
