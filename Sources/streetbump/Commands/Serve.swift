import ArgumentParser
import BumpStore
import Hummingbird
import StreetBumpServer

/// `streetbump serve`: the HTTP daemon (so far: the embedded Open311 endpoint and /healthz).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the embedded Open311 GeoReport v2 endpoint under /open311/v2 (stops cleanly on SIGTERM/SIGINT).")
    @OptionGroup var store: StoreOptions
    @Option(help: "Address to listen on (default 127.0.0.1; config host).")
    var host: String?
    @Option(help: "Port (default 8080; config port).")
    var port: Int?

    func run() async throws {
        let config = Configuration.current
        let db = try store.open()
        var keys = [try Open311ServerSettings.ownKey(in: db)]
        keys += (config.string("open311_server_keys") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let settings = ServerSettings(
            host: host ?? config.string("host") ?? "127.0.0.1",
            port: try port ?? config.number("port").map { Int($0) } ?? 8080,
            open311: .standard(apiKeys: keys))
        let logger = Logs.logger("streetbump.serve")
        let app = buildApplication(store: db, settings: settings, logger: logger, onServerRunning: { port in
            logger.notice("serving \(store.path): Open311 at http://\(settings.host):\(port)/open311/v2/discovery.json")
        })
        try await app.runService()
    }
}
