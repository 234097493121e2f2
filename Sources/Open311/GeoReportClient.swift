import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where and how to reach a GeoReport v2 endpoint.
public struct GeoReportEndpoint: Sendable {
    /// The endpoint root, e.g. `https://city.example/open311/v2` (paths like `/services.json` are appended).
    public var baseURL: URL
    /// Sent only in POST bodies; never logged or printed.
    public var apiKey: String?
    public var jurisdictionID: String?
    /// Seconds to wait for an answer before treating the call as failed.
    public var timeout: Double

    public init(baseURL: URL, apiKey: String?, jurisdictionID: String? = nil, timeout: Double = 30) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.jurisdictionID = jurisdictionID
        self.timeout = timeout
    }
}

/// A failed call to a GeoReport endpoint, with whether trying again could help.
public struct GeoReportError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The server refused the call (4xx): retrying the same call will not help.
        case rejected(status: Int)
        /// The server failed (5xx) or asked us to slow down (429).
        case serverFailure(status: Int)
        /// No answer: connection refused or reset, timeout.
        case transport
        /// An answer that is not what the spec says.
        case badAnswer
    }

    public var kind: Kind
    public var message: String
    /// Method and URL of the call (the api_key is never in a URL).
    public var call: String
    /// Seconds the server asked us to wait (`Retry-After` on a 429 or 503), if it did.
    public var retryAfter: Double?

    public init(kind: Kind, message: String, call: String, retryAfter: Double? = nil) {
        self.kind = kind
        self.message = message
        self.call = call
        self.retryAfter = retryAfter
    }

    /// Whether the outcome is unknown or temporary, so a later retry may succeed.
    public var isRetryable: Bool {
        if case .rejected = kind { return false }
        return true
    }

    public var description: String { "\(call): \(message)" }
}

/// A GeoReport v2 client for any endpoint; it speaks JSON.
public final class GeoReportClient: Sendable {
    public let endpoint: GeoReportEndpoint
    private let configuration: URLSessionConfiguration
    private let session: URLSession

    public init(endpoint: GeoReportEndpoint) {
        self.endpoint = endpoint
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = endpoint.timeout
        configuration.timeoutIntervalForResource = endpoint.timeout
        configuration.urlCache = nil
        // Every answer must be fresh: a cached "no request here" would file a duplicate.
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        self.configuration = configuration
        session = Self.session(configuration)
    }

    /// A session that follows no redirect: a 301/302 turns a POST into a GET of the city's
    /// request list, whose first entry would then pass for our receipt.
    private static func session(_ configuration: URLSessionConfiguration) -> URLSession {
        URLSession(configuration: configuration, delegate: RefuseRedirects(), delegateQueue: nil)
    }

    deinit { session.finishTasksAndInvalidate() }

    public func services() async throws(GeoReportError) -> [Service] {
        try await get("services.json", query: [], as: [Service].self)
    }

    public func definition(of serviceCode: String) async throws(GeoReportError) -> ServiceDefinition {
        try await get("services/\(Self.pathEscape(serviceCode)).json", query: [], as: ServiceDefinition.self)
    }

    /// Posts a request. The answer carries an id, or a token to resolve with `token(_:)`.
    public func submit(_ request: NewRequest) async throws(GeoReportError) -> RequestReceipt {
        let body = FormEncoding.encode(request.formFields(apiKey: endpoint.apiKey, jurisdictionID: endpoint.jurisdictionID))
        var r = URLRequest(url: url("requests.json", query: []))
        r.httpMethod = "POST"
        r.setValue("application/x-www-form-urlencoded; charset=utf-8", forHTTPHeaderField: "Content-Type")
        // A fresh connection for every POST, on a session of its own (the shared one would reuse
        // a pooled connection whatever the header says): an HTTP stack may silently resend a
        // request whose reused connection died, and a resent POST is a duplicate service request.
        r.setValue("close", forHTTPHeaderField: "Connection")
        r.httpBody = Data(body.utf8)
        let postSession = Self.session(configuration)
        defer { postSession.finishTasksAndInvalidate() }
        let receipts = try await call(r, on: postSession, as: [RequestReceipt].self)
        guard let first = receipts.first, first.serviceRequestID != nil || first.token != nil else {
            throw GeoReportError(kind: .badAnswer, message: "the answer has neither service_request_id nor token", call: Self.describe(r))
        }
        return first
    }

    /// Requests matching the spec's filters. Servers cap the answer (often 1,000 or 90 days).
    public func requests(serviceCode: String? = nil, status: [String] = [], ids: [String] = [],
                         start: Date? = nil, end: Date? = nil) async throws(GeoReportError) -> [ServiceRequest] {
        var q: [(String, String)] = []
        if !ids.isEmpty { q.append(("service_request_id", ids.joined(separator: ","))) }
        if let serviceCode { q.append(("service_code", serviceCode)) }
        if !status.isEmpty { q.append(("status", status.joined(separator: ","))) }
        if let start { q.append(("start_date", GeoReportTime.format(start))) }
        if let end { q.append(("end_date", GeoReportTime.format(end))) }
        return try await get("requests.json", query: q, as: [ServiceRequest].self)
    }

    /// One request, or nil when the server does not know it.
    public func request(id: String) async throws(GeoReportError) -> ServiceRequest? {
        do {
            return try await get("requests/\(Self.pathEscape(id)).json", query: [], as: [ServiceRequest].self).first
        } catch where error.kind == .rejected(status: 404) {
            return nil
        }
    }

    /// The id a token stands for, or nil while the server has not assigned one.
    public func token(_ token: String) async throws(GeoReportError) -> String? {
        do {
            let answers = try await get("tokens/\(Self.pathEscape(token)).json", query: [], as: [TokenAnswer].self)
            return answers.first?.serviceRequestID.flatMap { $0.isEmpty ? nil : $0 }
        } catch where error.kind == .rejected(status: 404) {
            return nil
        }
    }

    // MARK: Plumbing

    private func get<T: Decodable>(_ path: String, query: [(String, String)], as: T.Type) async throws(GeoReportError) -> T {
        var r = URLRequest(url: url(path, query: query))
        r.httpMethod = "GET"
        return try await call(r, on: session, as: T.self)
    }

    private func url(_ path: String, query: [(String, String)]) -> URL {
        var q = query
        if let j = endpoint.jurisdictionID { q.insert(("jurisdiction_id", j), at: 0) }
        var s = endpoint.baseURL.absoluteString
        if !s.hasSuffix("/") { s += "/" }
        s += path
        if !q.isEmpty { s += "?" + FormEncoding.encode(q) }
        return URL(string: s) ?? endpoint.baseURL
    }

    private func call<T: Decodable>(_ request: URLRequest, on session: URLSession, as: T.Type) async throws(GeoReportError) -> T {
        var request = request
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        request.timeoutInterval = endpoint.timeout
        request.cachePolicy = .reloadIgnoringLocalCacheData
        let what = Self.describe(request)
        let data: Data, response: URLResponse
        do {
            (data, response) = try await fetch(request, on: session)
        } catch {
            throw GeoReportError(kind: .transport, message: Self.transportMessage(error), call: what)
        }
        guard let http = response as? HTTPURLResponse else {
            throw GeoReportError(kind: .badAnswer, message: "not an HTTP answer", call: what)
        }
        switch http.statusCode {
        case 200..<300:
            do {
                return try JSONDecoder().decode(T.self, from: data)
            } catch {
                throw GeoReportError(kind: .badAnswer, message: "HTTP \(http.statusCode) with an unreadable body (\(Self.snippet(data)))", call: what)
            }
        case 300..<400:
            let location = http.value(forHTTPHeaderField: "Location").map { " to \($0.prefix(200))" } ?? ""
            throw GeoReportError(
                kind: .rejected(status: http.statusCode),
                message: "HTTP \(http.statusCode): the endpoint redirects\(location); redirects are not followed (a redirected POST comes back as a GET), so set open311_url to the address it names",
                call: what)
        case 429, 500...:
            let wait = http.value(forHTTPHeaderField: "Retry-After").flatMap { Self.retryAfter($0, now: Date()) }
            throw GeoReportError(kind: .serverFailure(status: http.statusCode),
                                 message: "HTTP \(http.statusCode): \(Self.errorText(data))" + (wait.map { "; asked to wait \(Int($0)) s" } ?? ""),
                                 call: what, retryAfter: wait)
        default:
            throw GeoReportError(kind: .rejected(status: http.statusCode), message: "HTTP \(http.statusCode): \(Self.errorText(data))", call: what)
        }
    }

    private func fetch(_ request: URLRequest, on session: URLSession) async throws -> (Data, URLResponse) {
        try await withCheckedThrowingContinuation { continuation in
            session.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: error)
                } else if let response {
                    continuation.resume(returning: (data ?? Data(), response))
                } else {
                    continuation.resume(throwing: URLError(.badServerResponse))
                }
            }.resume()
        }
    }

    /// Seconds from `now` a `Retry-After` value asks for: delta-seconds or an HTTP date (RFC 9110).
    static func retryAfter(_ value: String, now: Date) -> Double? {
        let text = value.trimmingCharacters(in: .whitespaces)
        // Capped at a day: a server's typo must not park us for years (or overflow an Int).
        if let seconds = Double(text), seconds.isFinite { return min(max(0, seconds), 86_400) }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "GMT")
        format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return format.date(from: text).map { min(max(0, $0.timeIntervalSince(now)), 86_400) }
    }

    /// The server's own words: the spec's `[{code, description}]`, or the start of the body.
    static func errorText(_ data: Data) -> String {
        if let items = try? JSONDecoder().decode([ErrorItem].self, from: data), !items.isEmpty {
            return items.map { $0.description.isEmpty ? "code \($0.code)" : $0.description }.joined(separator: "; ")
        }
        return snippet(data)
    }

    static func snippet(_ data: Data) -> String {
        let text = String(decoding: data.prefix(200), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
        return text.isEmpty ? "empty body" : text
    }

    static func transportMessage(_ error: any Error) -> String {
        if let u = error as? URLError {
            switch u.code {
            case .timedOut: return "no answer within the timeout"
            case .cannotConnectToHost: return "connection refused"
            case .networkConnectionLost, .badServerResponse: return "connection closed without an answer"
            default: return "network error \(u.code.rawValue): \(u.localizedDescription)"
            }
        }
        return "\(error)"
    }

    static func describe(_ r: URLRequest) -> String {
        "\(r.httpMethod ?? "GET") \(r.url?.absoluteString ?? "?")"
    }

    static func pathEscape(_ s: String) -> String { FormEncoding.escape(s) }
}

/// Answers every redirect with "don't": the 3xx itself comes back to `call`.
private final class RefuseRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}
