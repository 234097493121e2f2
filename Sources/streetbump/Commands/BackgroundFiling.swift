import BumpCore
import BumpFiling
import BumpStore
import Synchronization

/// Filing beside a stream: rounds run in their own task, so a slow or failing city endpoint
/// never holds up reading (which would make every open trip look idle). What got filed is
/// handed back as JSON lines for the stream's stdout.
final class BackgroundFiling: Sendable {
    private struct State {
        var round: Task<Void, Never>?
        var announced: Set<Int64>
        var lines: [String] = []
    }

    private let filer: Filer
    private let store: TraceStore
    private let state: Mutex<State>

    init(filer: Filer, store: TraceStore) throws {
        self.filer = filer
        self.store = store
        state = Mutex(State(announced: Set(try store.filings(in: [.filed]).map(\.id))))
    }

    /// Starts a round unless one is still running.
    func kick() {
        state.withLock { s in
            guard s.round == nil else { return }
            s.round = Task { [self] in
                await runRound()
                state.withLock { $0.round = nil }
            }
        }
    }

    /// `request_filed` lines since the last call.
    func drain() -> [String] {
        state.withLock { s in
            defer { s.lines.removeAll() }
            return s.lines
        }
    }

    /// Waits for the round in hand, then runs a last one (the stream's final clusters).
    func finish() async {
        await state.withLock { $0.round }?.value
        await runRound()
    }

    private func runRound() async {
        _ = try? filer.enqueueQualifying()
        _ = await filer.processDue()
        guard let filed = try? store.filings(in: [.filed]) else { return }
        state.withLock { s in
            for f in filed where !s.announced.contains(f.id) {
                s.announced.insert(f.id)
                s.lines.append("{\"type\":\"request_filed\",\"cluster\":\(f.clusterID),\"generation\":\(f.generation),"
                    + "\"service_request_id\":\(TraceWriter.jsonString(f.serviceRequestID ?? "")),"
                    + "\"lat\":\(TraceWriter.fixed(f.lat, places: 7)),\"lon\":\(TraceWriter.fixed(f.lon, places: 7))}\n")
            }
        }
    }
}
