import BumpCore

/// Settings shared by every door into the store (ingest, stream, upload).
public struct IngestSettings: Sendable {
    /// Target CRS ("EPSG:2249"); nil uses the store's, or the UTM zone of the first data.
    public var crs: String?
    /// Metres around each trip's first and last fix within which nothing is stored (privacy).
    public var privacyTrim = 200.0
    /// Cluster radius, metres.
    public var radius = 8.0
    /// Events placed no better than this (metres, twice the radius) cannot say which spot they
    /// hit, e.g. one extrapolated deep into a GPS dropout: they are stored but not clustered.
    public var maxEventAccuracy: Double { 2 * radius }
    public var detector = DetectorConfig()
    public var rules = ClusterRules()

    public init() {}
}
