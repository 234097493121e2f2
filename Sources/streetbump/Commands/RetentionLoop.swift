import BumpIngest
import BumpStore
import Foundation
import Logging
import ServiceLifecycle

/// Applies `retention_days` inside `serve`: at start and then hourly, trips stored longer ago
/// are deleted and the clusters recomputed.
struct RetentionLoop: ServiceLifecycle.Service {
    let store: TraceStore
    let ingest: IngestSettings
    let days: Double
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let purged = try store.purgeTrips(storedBefore: Date().addingTimeInterval(-days * 86_400))
                    if purged.trips > 0 {
                        _ = try ClusterUpdater.update(store: store, settings: ingest)
                        logger.notice("retention: deleted \(purged.trips) trips and \(purged.events) events stored over \(days) days ago")
                    }
                } catch {
                    logger.warning("retention: \(error)")
                }
                try? await Task.sleep(for: .seconds(3_600))
            }
        }
    }
}
