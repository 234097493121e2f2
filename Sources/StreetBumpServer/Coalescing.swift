/// Runs a piece of work so that callers arriving while it runs share one more run instead of
/// queueing one each: under a burst of uploads the store is re-clustered about once per
/// re-clustering time, not once per upload, and every caller still returns only after a run
/// that started after it asked (so its upload is in the clusters).
actor Coalescing {
    /// The latest run started (possibly finished).
    private var running: Task<Void, any Error>?
    /// The run that starts when `running` ends; callers meanwhile join it.
    private var queued: Task<Void, any Error>?

    func run(_ work: @escaping @Sendable () throws -> Void) async throws {
        if let queued { return try await queued.value }
        let previous = running
        // Detached: the work must not hold the actor, or callers could not join the next run.
        let task = Task.detached {
            _ = await previous?.result
            await self.started()
            try work()
        }
        if previous == nil { running = task } else { queued = task }
        try await task.value
    }

    private func started() {
        if let queued {
            running = queued
            self.queued = nil
        }
    }
}
