import BumpCore

/// A row sink that runs detection and also keeps, per trip, what the store needs besides
/// events: the GPS track (one fix per second at most) and the time span.
public struct TraceRecorder: TraceRowSink {
    public var detector: TraceDetector
    /// Per trip: fixes in arrival order, at most one a second.
    public private(set) var tracks: [[Fix]] = []
    public private(set) var spans: [(start: Double, end: Double)] = []
    /// Per trip: events produced so far.
    public private(set) var events: [[BumpEvent]] = []

    public init(config: DetectorConfig) {
        detector = TraceDetector(config: config)
    }

    @inline(__always)
    public mutating func accept(_ row: TraceRow, trip: Int) {
        if trip >= tracks.count { grow(to: trip) }
        detector.accept(row, trip: trip)
        if row.t < spans[trip].start { spans[trip].start = row.t }
        if row.t > spans[trip].end { spans[trip].end = row.t }
        if row.hasFix {
            let last = tracks[trip].last
            if last == nil || abs(row.t - last!.t) >= 1_000 {
                tracks[trip].append(Fix(t: row.t, lat: row.lat, lon: row.lon, speed: row.speed, accuracy: row.accuracy))
            }
        }
        if !detector.events.isEmpty { takeEvents() }
    }

    /// Ends all trips.
    public mutating func finish() {
        detector.finish()
        takeEvents()
    }

    private mutating func takeEvents() {
        for e in detector.events {
            if e.trip >= events.count { grow(to: e.trip) }
            events[e.trip].append(e)
        }
        detector.events.removeAll(keepingCapacity: true)
    }

    private mutating func grow(to trip: Int) {
        while tracks.count <= trip {
            tracks.append([])
            spans.append((.infinity, -.infinity))
            events.append([])
        }
    }
}

/// The detected content of one input, before it is trimmed, projected and stored.
public struct DetectedTrace: Sendable {
    public struct Trip: Sendable {
        public var name: String
        public var device: String?
        public var events: [BumpEvent]
        public var track: [Fix]
        public var span: (start: Double, end: Double)
        public var stats: TripStats
    }

    public var outcome: ReadOutcome
    public var trips: [Trip]

    /// Reads and detects one file. Pure computation apart from reading: safe to run in parallel.
    public static func file(_ path: String, format: TraceFormat? = nil, detector: DetectorConfig) throws -> DetectedTrace {
        try read(.file(path), options: ReadOptions(format: format), detector: detector)
    }

    /// Reads and detects one input (a file, an export folder or zip, a GPX track with its
    /// accelerometer file). Safe to run in parallel.
    public static func read(_ input: TraceInput, options: ReadOptions, detector: DetectorConfig) throws -> DetectedTrace {
        var recorder = TraceRecorder(config: detector)
        let outcome = try TraceFileReader.read(input, options: options, into: &recorder)
        return finished(recorder, outcome)
    }

    /// Ends detection and gathers each trip's events, track and counts.
    static func finished(_ r: TraceRecorder, _ outcome: ReadOutcome) -> DetectedTrace {
        var recorder = r
        recorder.finish()
        let stats = recorder.detector.tripStats
        let trips = outcome.tripNames.indices.map { i in
            Trip(name: outcome.tripNames[i], device: outcome.tripDevices[i],
                 events: i < recorder.events.count ? recorder.events[i] : [],
                 track: i < recorder.tracks.count ? recorder.tracks[i] : [],
                 span: i < recorder.spans.count ? recorder.spans[i] : (0, 0),
                 stats: i < stats.count ? stats[i] : TripStats())
        }.filter { $0.stats.samples > 0 || $0.stats.fixes > 0 }
        return DetectedTrace(outcome: outcome, trips: trips)
    }
}
