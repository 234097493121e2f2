import BumpCore
import Foundation
import Hummingbird
import NIOCore

/// What a caller may do. Each role includes the ones below it.
public enum Role: String, Sendable, Comparable, CaseIterable {
    /// Phones and fleet gateways: upload traces, nothing else.
    case uploader
    /// Public-works staff: read candidates and decide about them.
    case staff
    /// Operators: also metrics and deleting a resident's trips.
    case admin

    public static func < (a: Role, b: Role) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One API token: who holds it (recorded with their review decisions) and what it allows.
public struct APIToken: Sendable, Equatable {
    public var name: String
    public var role: Role
    /// The bearer secret. Compared in constant time, never logged.
    public var secret: String

    public init(name: String, role: Role, secret: String) {
        self.name = name
        self.role = role
        self.secret = secret
    }

    /// Reads `name:role:secret` entries separated by commas (the `api_tokens` setting).
    public static func parseList(_ text: String) throws -> [APIToken] {
        try text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.enumerated().map { n, entry in
            let parts = entry.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            // Secrets are never echoed back: the error may end up in a log.
            guard parts.count == 3, !parts[0].isEmpty else {
                throw AccessError("api_tokens: entry \(n + 1) is not name:role:secret")
            }
            guard let role = Role(rawValue: parts[1]) else {
                throw AccessError("api_tokens: token '\(parts[0])' has role '\(parts[1])'; roles are uploader, staff, admin")
            }
            guard parts[2].utf8.count >= 16 else {
                throw AccessError("api_tokens: the secret of token '\(parts[0])' is shorter than 16 characters")
            }
            return APIToken(name: parts[0], role: role, secret: parts[2])
        }
    }
}

/// A refused configuration, e.g. a public address without tokens.
public struct AccessError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Who may call what.
///
/// With no tokens the server is a local tool: it binds loopback only, every caller is admin, and
/// requests must name a loopback host (a page elsewhere cannot reach it by DNS rebinding). With
/// tokens every API call carries `Authorization: Bearer <secret>` and gets the token's role.
public struct AccessSettings: Sendable {
    public var tokens: [APIToken]

    public init(tokens: [APIToken] = []) {
        self.tokens = tokens
    }

    public var isOpen: Bool { tokens.isEmpty }

    /// Refuses to serve a non-loopback address without tokens.
    public func check(bindingTo host: String) throws {
        if isOpen && !Self.isLoopback(host) {
            throw AccessError("refusing to listen on \(host) without API tokens: configure api_tokens (name:role:secret, ...) or listen on 127.0.0.1")
        }
    }

    /// The role a request needs; nil only for what anyone may read (the page, health, Open311,
    /// which checks its own api_key on POST), and only in its plain spelling. Everything else
    /// needs a token: the router also matches `//api/v1/...` or `/metrics/`, so a list of
    /// protected paths would let an odd spelling of one through.
    public static func requiredRole(method: HTTPRequest.Method, path: String) -> Role? {
        if isPublic(path) { return nil }
        let route = normalized(path)
        if route == "/metrics" { return .admin }
        if route == "/api/v1/traces" && method == .post { return .uploader }
        if route.hasPrefix("/api/v1/trips/") && method == .delete { return .admin }
        return .staff
    }

    /// The page and its assets, health and Open311, spelled plainly: no empty, `.` or `..`
    /// segments, no percent escapes.
    static func isPublic(_ path: String) -> Bool {
        guard path.hasPrefix("/"), !path.contains("%"), !path.contains("//") else { return false }
        if path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) { return false }
        return ["/", "/healthz", "/review.js", "/review.css"].contains(path)
            || path.hasPrefix("/vendor/leaflet/") || path.hasPrefix("/open311/v2/")
    }

    /// The route a path can reach, for choosing its role: percent escapes decoded, empty and
    /// `.` segments dropped, `..` applied, lower case (a stricter match only ever asks for more).
    static func normalized(_ path: String) -> String {
        let decoded = path.removingPercentEncoding ?? path
        var segments: [Substring] = []
        for segment in decoded.lowercased().split(separator: "/") where segment != "." {
            if segment == ".." { _ = segments.popLast() } else { segments.append(segment) }
        }
        return "/" + segments.joined(separator: "/")
    }

    /// The token with this secret, checking every token in time that does not depend on which
    /// (if any) matched or how much of the secret was right.
    func token(secret presented: Substring) -> APIToken? {
        var found: APIToken?
        for t in tokens where Self.constantTimeEquals(presented.utf8, t.secret.utf8) { found = t }
        return found
    }

    /// Compares in time that depends only on `secret`'s length.
    static func constantTimeEquals(_ presented: Substring.UTF8View, _ secret: String.UTF8View) -> Bool {
        let p = Array(presented), s = Array(secret)
        // The lengths stay whole: truncated, a secret plus 256 more bytes would compare equal.
        var diff = p.count ^ s.count
        for i in 0..<s.count { diff |= Int(s[i] ^ (i < p.count ? p[i] : 0)) }
        return diff == 0
    }

    /// `localhost`, `::1`, or an IPv4 literal in 127.0.0.0/8 (not a name like `127.example.com`,
    /// which anyone can point anywhere).
    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "::1" || h == "[::1]" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { $0.count <= 3 && UInt8($0) != nil }
    }

    /// The host part of a Host header or an origin's authority (`name`, `name:port`, `[v6]:port`).
    static func hostName(_ authority: Substring) -> String {
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") { return String(authority[...end]) }
        return String(authority.split(separator: ":", maxSplits: 1).first ?? "")
    }
}

/// Who is calling, as the access check found; review decisions are recorded under `name`.
public struct Caller: Sendable, Equatable {
    public var name: String
    public var role: Role
    /// False for the local caller of a server without tokens.
    public var viaToken: Bool
    public static let local = Caller(name: "local", role: .admin, viaToken: false)
    /// A caller without a token on a server with tokens (public routes only): the least role.
    public static let anonymous = Caller(name: "anonymous", role: .uploader, viaToken: false)
}

/// The request context of the streetbump app: Hummingbird's core plus the caller.
public struct AppContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var caller = Caller.local

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// Enforces `AccessSettings` on every request, before any route runs.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let settings: AccessSettings

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        var context = context
        let host = request.head.authority ?? ""
        if let refusal = crossSiteRefusal(request, host: host) { return refusal }
        if settings.isOpen {
            // Only reachable on loopback; a foreign Host means a browser was tricked (DNS rebinding).
            guard AccessSettings.isLoopback(AccessSettings.hostName(Substring(host))) else {
                return Self.refuse(.forbidden, "this server answers to localhost only; configure api_tokens to serve other hosts")
            }
            context.caller = .local
            return try await next(request, context)
        }
        guard let needed = AccessSettings.requiredRole(method: request.method, path: request.uri.path) else {
            context.caller = .anonymous
            return try await next(request, context)
        }
        guard let token = bearer(request).flatMap(settings.token(secret:)) else {
            var r = Self.refuse(.unauthorized, "send an API token: Authorization: Bearer <token>")
            r.headers[.wwwAuthenticate] = "Bearer realm=\"streetbump\""
            return r
        }
        guard token.role >= needed else {
            return Self.refuse(.forbidden, "token '\(token.name)' is \(token.role.rawValue); this needs \(needed.rawValue)")
        }
        context.caller = Caller(name: token.name, role: token.role, viaToken: true)
        return try await next(request, context)
    }

    func bearer(_ request: Request) -> Substring? {
        guard let value = request.headers[.authorization], value.count > 7, value.prefix(7).lowercased() == "bearer " else { return nil }
        return value.dropFirst(7).drop { $0 == " " }
    }

    /// A state-changing request a browser made for another site's page: refused, whatever
    /// credentials it carries (the browser's own `Sec-Fetch-Site`, an opaque `null` origin, and
    /// without tokens an `Origin` that is not this host). Phones and scripts send neither.
    func crossSiteRefusal(_ request: Request, host: String) -> Response? {
        guard request.method != .get && request.method != .head && request.method != .options else { return nil }
        if request.headers.first(where: { $0.name.canonicalName == "sec-fetch-site" })?.value.lowercased() == "cross-site" {
            return Self.refuse(.forbidden, "cross-site requests cannot change anything here")
        }
        if let origin = request.headers[.origin] {
            let authority = origin.split(separator: "://", maxSplits: 1).last.map(String.init) ?? ""
            // Origin against Host only without tokens: behind a reverse proxy the Host may be
            // rewritten, and with tokens a foreign page cannot send the bearer token anyway.
            if origin == "null" || (settings.isOpen && authority.lowercased() != host.lowercased()) {
                return Self.refuse(.forbidden, "cross-site requests cannot change anything here (Origin \(origin.prefix(100)))")
            }
        }
        return nil
    }

    static func refuse(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\(TraceWriter.jsonString(message))}\n")))
    }
}
