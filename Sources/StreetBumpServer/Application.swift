import BumpIngest
import BumpStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Settings of the HTTP server as a whole.
public struct ServerSettings: Sendable {
    public var host: String
    /// 0 picks a free port (tests, the in-process endpoint `file` uses).
    public var port: Int
    public var open311: Open311ServerSettings
    /// How uploads are detected and stored (as `ingest` would).
    public var ingest = IngestSettings()
    public var uploadLimits = UploadLimits()
    /// Base-map tiles for the review page; nil draws the driven streets instead.
    public var tileURL: String?
    /// API tokens and roles; none means loopback only, every caller admin.
    public var access = AccessSettings()

    public init(host: String = "127.0.0.1", port: Int = 8080, open311: Open311ServerSettings) {
        self.host = host
        self.port = port
        self.open311 = open311
    }
}

/// The streetbump HTTP application: trace uploads under `/api/v1`, the Open311 endpoint under
/// `/open311/v2`, the review page at `/`, `/metrics` and `/healthz`.
/// Kept apart from `@main` so tests and the CLI build the same thing.
/// `now` is the server's clock (tests move it to release deferred ids).
/// Throws when the settings would expose the server without tokens.
public func buildApplication(store: TraceStore, settings: ServerSettings, logger: Logger,
                             now: @escaping @Sendable () -> Date = { Date() }, services: [any Service] = [],
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
    try settings.access.check(bindingTo: settings.host)
    let router = Router(context: AppContext.self)
    let metrics = ServerMetrics()
    router.add(middleware: MetricsMiddleware(metrics: metrics))
    router.add(middleware: APIErrorMiddleware())
    router.add(middleware: AccessMiddleware(settings: settings.access))
    metrics.addRoutes(to: router, store: store)
    router.get("/healthz") { _, _ in "ok\n" }
    Open311Endpoint(store: store, settings: settings.open311, now: now).addRoutes(to: router)
    UploadEndpoint(store: store, ingest: settings.ingest, limits: settings.uploadLimits, metrics: metrics).addRoutes(to: router)
    ClusterAPI(store: store).addRoutes(to: router)
    ReviewAPI(store: store, ingest: settings.ingest, tileURL: settings.tileURL).addRoutes(to: router)
    ReviewPage().addRoutes(to: router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "streetbump"),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? settings.port) },
        logger: logger)
}

/// An application running in a background task, e.g. the embedded endpoint during `file`.
public final class BackgroundServer: Sendable {
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Starts the app built by `make` and returns once it listens.
    public static func start<App: ApplicationProtocol>(
        logger: Logger,
        _ make: (_ onRunning: @escaping @Sendable (Int) async -> Void) throws -> App
    ) async throws -> BackgroundServer {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = try make { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var it = ports.makeAsyncIterator()
        guard let port = await it.next() else {
            try await task.value
            throw CancellationError()
        }
        return BackgroundServer(port: port, group: group, task: task)
    }

    private init(port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.group = group
        self.task = task
    }

    /// Shuts the server down gracefully (requests in hand finish) and waits for it.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}
