import BumpFiling
import BumpStore
import Foundation
import Logging
import Open311
import ServiceLifecycle
import StreetBumpServer

/// The filer and the status sync as a service of `serve`: every `interval` seconds it queues
/// what qualifies and sends what is due; every `syncInterval` it asks for statuses. Without
/// `open311_url` it files to this server's own embedded endpoint. On graceful shutdown it
/// stops after the entry in hand (each entry is committed before and after its POST).
struct FilingLoop: ServiceLifecycle.Service {
    let store: TraceStore
    let settings: @Sendable (_ ownPort: Int) throws -> FilingSettings
    let ownPort: @Sendable () async -> Int?
    let logger: Logger
    var interval = 60.0
    var syncInterval = 600.0

    func run() async throws {
        // Shutdown cancels the wait between rounds; that is the normal way out, not an error.
        await cancelWhenGracefulShutdown {
            guard let port = await ownPort() else { return }
            var filer: Filer?
            var lastSync = -Double.infinity
            while !Task.isCancelled {
                do {
                    if filer == nil { filer = try await Filer.connect(store: store, settings: try settings(port), logger: logger) }
                    if let filer {
                        try filer.enqueueQualifying()
                        _ = await filer.processDue()
                        if ProcessInfo.processInfo.systemUptime - lastSync >= syncInterval {
                            lastSync = ProcessInfo.processInfo.systemUptime
                            await filer.syncStatus()
                        }
                    }
                } catch {
                    // The endpoint may be down at start-up: try again next round.
                    logger.warning("filing: \(error)")
                }
                try? await Task.sleep(for: .seconds(interval))
            }
        }
    }
}
