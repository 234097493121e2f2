/// One row of a trace as read from any format, already in canonical units.
///
/// A row may carry an accelerometer reading, a GPS fix, or both; absent values are NaN.
/// `t` is always epoch milliseconds (or milliseconds since an arbitrary origin when the
/// source used relative time).
public struct TraceRow: Sendable, Equatable {
    /// Time in milliseconds.
    public var t: Double
    /// Acceleration in the phone frame, m/s², gravity included.
    public var ax: Double
    public var ay: Double
    public var az: Double
    /// WGS84 degrees.
    public var lat: Double
    public var lon: Double
    /// Ground speed, m/s.
    public var speed: Double
    /// Horizontal accuracy, metres (68 %).
    public var accuracy: Double

    public init(
        t: Double, ax: Double = .nan, ay: Double = .nan, az: Double = .nan,
        lat: Double = .nan, lon: Double = .nan, speed: Double = .nan, accuracy: Double = .nan
    ) {
        self.t = t
        self.ax = ax
        self.ay = ay
        self.az = az
        self.lat = lat
        self.lon = lon
        self.speed = speed
        self.accuracy = accuracy
    }

    /// True when the row carries a complete accelerometer reading.
    @inlinable public var hasAcceleration: Bool { !ax.isNaN && !ay.isNaN && !az.isNaN }
    /// True when the row carries a usable position.
    @inlinable public var hasFix: Bool { !lat.isNaN && !lon.isNaN }
}

/// Receives rows from a reader. Generic (not an existential) so the hot loop specialises.
public protocol TraceRowSink {
    /// A valid row of trip number `trip` (an index into the reader's `tripNames`).
    mutating func accept(_ row: TraceRow, trip: Int)
}

/// A row that was skipped, with where and why, for the person who has to fix the file.
public struct RowIssue: Sendable, Equatable, CustomStringConvertible {
    /// File name (or "<stdin>", or an upload id) as given to the reader.
    public var source: String
    /// 1-based line number in the source.
    public var line: Int
    /// The field at fault, if one is to blame (a column name or JSON key).
    public var field: String?
    public var reason: String

    public init(source: String, line: Int, field: String?, reason: String) {
        self.source = source
        self.line = line
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "\(source):\(line): field '\(field)': \(reason)" }
        return "\(source):\(line): \(reason)"
    }
}

/// Counters every reader keeps; the CLI prints them as the run summary.
public struct ReadStats: Sendable, Equatable {
    public var lines = 0
    public var rows = 0
    public var rejectedRows = 0
    public var bytes = 0
    public init() {}
}
