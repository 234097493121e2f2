import BumpCore

/// One input file, remembered by content hash so ingesting it again changes nothing.
public struct SourceRecord: Sendable, Equatable {
    public var hash: String
    public var path: String
    public var bytes: Int
    public var rows: Int
    public var rejectedRows: Int
    /// For uploads: the JSON answer, given again when the same content is uploaded again.
    public var summary: String?

    public init(hash: String, path: String, bytes: Int, rows: Int, rejectedRows: Int, summary: String? = nil) {
        self.hash = hash
        self.path = path
        self.bytes = bytes
        self.rows = rows
        self.rejectedRows = rejectedRows
        self.summary = summary
    }
}

/// A trip ready to store: its summary, its (privacy-trimmed, projected) events and the
/// coverage cells its track passed.
public struct TripRecord: Sendable {
    public var name: String
    public var device: String?
    public var start: Double
    public var end: Double
    public var samples: Int
    public var fixes: Int
    public var rate: Double
    /// Events removed because they lay within the privacy distance of the trip's ends.
    public var trimmedEvents: Int
    public var events: [StoredEvent]
    public var coverage: [CoverageCell]

    public init(name: String, device: String?, start: Double, end: Double, samples: Int, fixes: Int, rate: Double,
                trimmedEvents: Int, events: [StoredEvent], coverage: [CoverageCell]) {
        self.name = name
        self.device = device
        self.start = start
        self.end = end
        self.samples = samples
        self.fixes = fixes
        self.rate = rate
        self.trimmedEvents = trimmedEvents
        self.events = events
        self.coverage = coverage
    }
}

/// An event with its position in the store's CRS.
public struct StoredEvent: Sendable {
    public var event: BumpEvent
    /// Easting/northing in the store's CRS units.
    public var x: Double
    public var y: Double
    /// Order-free identity: a hash of trip name and time.
    public var key: UInt64

    public init(event: BumpEvent, x: Double, y: Double, key: UInt64) {
        self.event = event
        self.x = x
        self.y = y
        self.key = key
    }
}

/// A cluster as stored: position, class and the statistics behind it.
public struct ClusterRecord: Sendable, Equatable {
    public var id: Int64
    public var x: Double
    public var y: Double
    public var lat: Double
    public var lon: Double
    public var cls: ClusterClass
    public var confidence: Double
    public var summary: ClusterSummary
    public var reasons: [String]
    /// candidate, confirmed, rejected, filed ... (review and filing add states).
    public var state: String
    public var knownFeature: Int64?

    public init(id: Int64, x: Double, y: Double, lat: Double, lon: Double, cls: ClusterClass, confidence: Double,
                summary: ClusterSummary, reasons: [String], state: String = "candidate", knownFeature: Int64? = nil) {
        self.id = id
        self.x = x
        self.y = y
        self.lat = lat
        self.lon = lon
        self.cls = cls
        self.confidence = confidence
        self.summary = summary
        self.reasons = reasons
        self.state = state
        self.knownFeature = knownFeature
    }
}

/// An event as the clusterer needs it.
public struct EventPoint: Sendable {
    public var id: Int64
    public var x: Double
    public var y: Double
    public var accuracy: Double
    public var key: UInt64
    public var cluster: Int64?
    public var evidence: EventEvidence
}

/// A mapped asset: a cover, hump or crossing the city already knows about.
public struct KnownFeature: Sendable, Equatable {
    public var id: Int64
    public var kind: ClusterClass
    public var x: Double
    public var y: Double
    public var lat: Double
    public var lon: Double
    public var source: String
    public var ref: String?

    public init(id: Int64 = 0, kind: ClusterClass, x: Double, y: Double, lat: Double, lon: Double, source: String, ref: String?) {
        self.id = id
        self.kind = kind
        self.x = x
        self.y = y
        self.lat = lat
        self.lon = lon
        self.source = source
        self.ref = ref
    }
}
