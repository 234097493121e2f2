/// Detection over a whole trace of one or many trips: a row sink that routes each row to its
/// trip's detector and collects the events that are ready.
public struct TraceDetector: TraceRowSink {
    public let config: DetectorConfig
    private var trips: [TripDetector] = []
    /// Events ready to hand on, in the order they became final. The caller drains it.
    public var events: [BumpEvent] = []

    public init(config: DetectorConfig = DetectorConfig()) {
        self.config = config
    }

    @inline(__always)
    public mutating func accept(_ row: TraceRow, trip: Int) {
        while trips.count <= trip { trips.append(TripDetector(trip: trips.count, config: config)) }
        trips[trip].accept(row)
        if !trips[trip].ready.isEmpty {
            events.append(contentsOf: trips[trip].ready)
            trips[trip].ready.removeAll(keepingCapacity: true)
        }
    }

    /// Ends every trip (end of input).
    public mutating func finish() {
        for i in trips.indices {
            trips[i].finish()
            events.append(contentsOf: trips[i].ready)
            trips[i].ready.removeAll()
        }
    }

    /// Per-trip counters, indexed like the reader's trip table.
    public var tripStats: [TripStats] { trips.map(\.stats) }
}
