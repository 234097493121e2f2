import ArgumentParser
import BumpFiling
import BumpStore
import Foundation
import Logging
import Open311
import StreetBumpServer

/// Where requests go and how filing behaves, from the config file and environment
/// (`open311_*`, `filing_*`, `review_url`). Without `open311_url`, the embedded endpoint.
struct FilingOptions: ParsableArguments {
    @Option(help: "Seconds to keep retrying failed posts before leaving them for the next run (default 30).")
    var wait: Double = 30

    /// An endpoint ready to file to; `stop()` when done (it may be running in this process).
    struct Target {
        var settings: FilingSettings
        var server: BackgroundServer?
        func stop() async { await server?.stop() }
    }

    func target(store: TraceStore, logger: Logger) async throws -> Target {
        if Configuration.current.string("open311_url") != nil {
            return Target(settings: try Self.settings(store: store, embedded: nil), server: nil)
        }
        // No city endpoint: file into the store's own queue through the embedded endpoint,
        // over real HTTP on loopback, exactly as a remote one.
        let key = try Open311ServerSettings.ownKey(in: store)
        let server = ServerSettings(host: "127.0.0.1", port: 0, open311: .standard(apiKeys: [key]))
        let running = try await BackgroundServer.start(logger: logger) { onRunning in
            try buildApplication(store: store, settings: server, logger: logger, onServerRunning: onRunning)
        }
        do {
            return Target(settings: try Self.settings(store: store, embedded: (host: "127.0.0.1", port: running.port)), server: running)
        } catch {
            await running.stop()
            throw error
        }
    }

    /// The address to call a server on that listens on `host`: the wildcard addresses are
    /// reached on loopback, an IPv6 literal goes in brackets.
    static func reachable(_ host: String) -> String {
        switch host {
        case "", "0.0.0.0": return "127.0.0.1"
        case "::", "[::]": return "[::1]"
        default: return host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        }
    }

    /// Filing settings from the configuration: `open311_url` when set, else the embedded
    /// endpoint listening at `embedded` (with the store's own key).
    static func settings(store: TraceStore, embedded: (host: String, port: Int)?) throws -> FilingSettings {
        let config = Configuration.current
        let timeout = try config.number("open311_timeout", in: 1...3_600) ?? 30
        let endpoint: GeoReportEndpoint
        if let url = config.string("open311_url") {
            guard let base = URL(string: url), base.scheme == "http" || base.scheme == "https" else {
                throw ValidationError("open311_url must be an http(s) URL, got \(url)")
            }
            endpoint = GeoReportEndpoint(baseURL: base, apiKey: config.string("open311_api_key"),
                                         jurisdictionID: config.string("open311_jurisdiction"), timeout: timeout)
        } else if let (host, port) = embedded {
            guard let base = URL(string: "http://\(Self.reachable(host)):\(port)/open311/v2") else {
                throw ValidationError("cannot call the embedded endpoint at host \(host); listen on an address without a zone, or set open311_url")
            }
            endpoint = GeoReportEndpoint(baseURL: base,
                                         apiKey: try Open311ServerSettings.ownKey(in: store), timeout: timeout)
        } else {
            throw ValidationError("no Open311 endpoint: set open311_url")
        }
        let isEmbedded = config.string("open311_url") == nil
        var s = FilingSettings(endpoint: endpoint, serviceCode: config.string("open311_service_code") ?? "pothole")
        // The in-process queue needs no protection from us; a city's endpoint does.
        if isEmbedded {
            s.postsPerMinute = 6_000
            s.endpointName = "embedded"
        }
        s.minConfidence = try config.number("filing_min_confidence") ?? s.minConfidence
        s.nearbyRadius = try config.number("filing_radius") ?? s.nearbyRadius
        s.postsPerMinute = try config.number("filing_posts_per_minute") ?? s.postsPerMinute
        s.maxAttempts = try config.integer("filing_max_attempts", in: 1...1_000) ?? s.maxAttempts
        s.reviewURL = config.string("review_url")
        if let attributes = config.string("open311_attributes") {
            for pair in attributes.split(separator: ",") {
                let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2, !kv[0].isEmpty else {
                    throw ValidationError("open311_attributes must look like code=value,code=value; got '\(pair)'")
                }
                s.attributes[kv[0]] = kv[1]
            }
        }
        guard (0...1).contains(s.minConfidence) else { throw ValidationError("filing_min_confidence must be between 0 and 1") }
        guard s.nearbyRadius >= 0, s.postsPerMinute > 0, s.maxAttempts >= 1 else {
            throw ValidationError("filing_radius must be ≥ 0, filing_posts_per_minute > 0 and filing_max_attempts ≥ 1")
        }
        return s
    }
}

/// Logging for the process: stderr, level from STREETBUMP_LOG_LEVEL (default notice).
enum Logs {
    static let bootstrap: Void = {
        let level = ProcessInfo.processInfo.environment["STREETBUMP_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .notice
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }()

    static func logger(_ label: String) -> Logger {
        _ = bootstrap
        return Logger(label: label)
    }
}
