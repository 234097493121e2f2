import ArgumentParser
import BumpIngest
import BumpStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import StreetBumpServer

/// `streetbump serve`: the HTTP daemon: review page, uploads, read API, embedded Open311 endpoint.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the review page (/), trace uploads and the read API (/api/v1) and the embedded Open311 GeoReport v2 endpoint (/open311/v2); stops cleanly on SIGTERM/SIGINT.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var pipeline: PipelineOptions
    @Option(help: "Address to listen on (default 127.0.0.1; config host).")
    var host: String?
    @Option(help: "Port (default 8080; config port).")
    var port: Int?
    @Flag(inversion: .prefixedNo, help: "Run the filer and status sync inside the server (to open311_url, else the embedded queue).")
    var file = true

    func run() async throws {
        let config = Configuration.current
        let db = try store.open()
        var keys = [try Open311ServerSettings.ownKey(in: db)]
        let ingest = try pipeline.settings()
        var limits = UploadLimits()
        if let maxBytes = try config.integer("upload_max_bytes", in: 1...(1 << 40)) { limits.maxBytes = maxBytes }
        keys += (config.string("open311_server_keys") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var settings = ServerSettings(
            host: host ?? config.string("host") ?? "127.0.0.1",
            port: try port ?? config.integer("port", in: 0...65_535) ?? 8080,
            open311: .standard(apiKeys: keys))
        settings.ingest = ingest
        settings.uploadLimits = limits
        settings.tileURL = config.string("tile_url")
        settings.access = AccessSettings(tokens: try APIToken.parseList(config.string("api_tokens") ?? ""))
        let host = settings.host
        let tokenCount = settings.access.tokens.count
        let logger = Logs.logger("streetbump.serve")
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        var services: [any ServiceLifecycle.Service] = []
        if file {
            services.append(FilingLoop(
                store: db, settings: { port in try FilingOptions.settings(store: db, embedded: (host, port)) },
                ownPort: { await ports.first { _ in true } }, logger: Logs.logger("streetbump.filer"),
                interval: try config.number("filing_interval", in: 0.1...86_400) ?? 60))
        }
        if let days = try config.retentionDays() {
            services.append(RetentionLoop(store: db, ingest: ingest, days: days, logger: Logs.logger("streetbump.retention")))
        }
        let app = try buildApplication(store: db, settings: settings, logger: logger, services: services, onServerRunning: { port in
            portContinuation.yield(port)
            logger.notice("serving \(store.path): review page http://\(host):\(port)/, Open311 http://\(host):\(port)/open311/v2/discovery.json")
            logger.notice(tokenCount == 0 ? "no api_tokens: loopback only, every caller is admin" : "\(tokenCount) API tokens")
        })
        try await app.runService()
    }
}

