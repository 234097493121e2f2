/// Detection over a whole trace of one or many trips: a row sink that routes each row to its
/// trip's detector and collects the events that are ready.
public struct TraceDetector: TraceRowSink {
    public let config: DetectorConfig
    private var trips: [TripDetector] = []
    /// Events ready to hand on, in the order they became final. The caller drains it.
    public var events: [BumpEvent] = []
    /// The trip of the last row: only its detector may have samples queued.
    private var lastTrip = -1
    /// Batching pays when rows come in long runs of one trip (a file per trip). A time-ordered
    /// stream of interleaved trips switches trip nearly every row, which would run a handful
    /// of samples at a time: after 64 switches averaging under 16 rows apart it stops.
    private var batching = true
    private var rows = 0
    private var switches = 0

    public init(config: DetectorConfig = DetectorConfig()) {
        self.config = config
    }

    @inline(__always)
    public mutating func accept(_ row: TraceRow, trip: Int) {
        while trips.count <= trip { trips.append(TripDetector(trip: trips.count, config: config, batching: batching)) }
        rows &+= 1
        // Events of different trips become ready in the order they would unbatched.
        if trip != lastTrip { switchTrip(to: trip) }
        trips[trip].accept(row)
        if !trips[trip].ready.isEmpty { collectReady(trip) }
    }

    @inline(never)
    private mutating func switchTrip(to trip: Int) {
        if batching && lastTrip >= 0 { runQueued(lastTrip) }
        lastTrip = trip
        switches += 1
        if batching && switches >= 64 && switches * 16 > rows {
            batching = false
            for i in trips.indices {
                trips[i].stopBatching()
                collectReady(i)
            }
        }
    }

    private mutating func runQueued(_ trip: Int) {
        trips[trip].runQueued()
        collectReady(trip)
    }

    private mutating func collectReady(_ trip: Int) {
        events.append(contentsOf: trips[trip].ready)
        trips[trip].ready.removeAll(keepingCapacity: true)
    }

    /// Ends every trip (end of input).
    public mutating func finish() {
        if lastTrip >= 0 { runQueued(lastTrip) }
        for i in trips.indices {
            trips[i].finish()
            collectReady(i)
        }
    }

    /// Samples the batched stages ran, over all trips.
    var stagedSamples: Int { trips.reduce(0) { $0 + $1.stagedSamples } }

    /// Per-trip counters, indexed like the reader's trip table.
    public var tripStats: [TripStats] { trips.map(\.stats) }
}
