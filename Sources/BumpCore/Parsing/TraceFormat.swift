/// The trace formats streetbump reads. The raw values are the names `--input` takes.
public enum TraceFormat: String, Sendable, CaseIterable {
    /// streetbump's canonical CSV (DESIGN.md 4.1).
    case csv
    /// streetbump's NDJSON (DESIGN.md 4.2).
    case ndjson
    /// A Sensor Logger export (folder or zip of per-sensor CSVs), see `SensorLoggerFormat`.
    case sensorLogger = "sensorlogger"
    /// Physics Toolbox Sensor Suite CSV, see `PhysicsToolboxFormat`.
    case physicsToolbox = "physicstoolbox"
    /// A phyphox CSV export (file, folder or zip), see `PhyphoxFormat`.
    case phyphox
    /// A GPX track, joined by time to an accelerometer file.
    case gpx
    /// Any delimited file read through a `--columns` map (`DelimitedLayout`).
    case columns

    /// The name people know the format by.
    public var displayName: String {
        switch self {
        case .csv: "canonical CSV"
        case .ndjson: "NDJSON"
        case .sensorLogger: "Sensor Logger"
        case .physicsToolbox: "Physics Toolbox"
        case .phyphox: "phyphox"
        case .gpx: "GPX"
        case .columns: "column-mapped CSV"
        }
    }
}

/// One reader of whichever single-file format, so callers handle every format the same way.
public struct TraceReader {
    public let format: TraceFormat
    // Exactly one is set; optionals (not an enum payload) so the reader mutates in place.
    private var csv: CanonicalCSVReader?
    private var ndjson: NDJSONTraceReader?
    private var delimited: DelimitedTraceReader?
    private var gpx: GPXTrackReader?

    /// A reader of streetbump's own formats: `format` is `.csv` or `.ndjson` (anything else
    /// is read as canonical CSV); `source` names the input in every reported issue.
    public init(format: TraceFormat, source: String, defaultTrip: String, maxIssues: Int = 1000, maxLineBytes: Int = 1 << 20) {
        if format == .ndjson {
            self.format = .ndjson
            ndjson = NDJSONTraceReader(source: source, maxIssues: maxIssues, maxLineBytes: maxLineBytes)
        } else {
            self.format = .csv
            csv = CanonicalCSVReader(source: source, defaultTrip: defaultTrip, maxIssues: maxIssues, maxLineBytes: maxLineBytes)
        }
    }

    /// A reader for a recognised file (see `TraceRecognizer`); nil when it is `.unknown`.
    public init?(recognition: TraceRecognition, source: String, defaultTrip: String, maxIssues: Int = 1000, maxLineBytes: Int = 1 << 20) {
        switch recognition {
        case .canonicalCSV:
            format = .csv
            csv = CanonicalCSVReader(source: source, defaultTrip: defaultTrip, maxIssues: maxIssues, maxLineBytes: maxLineBytes)
        case .ndjson:
            format = .ndjson
            ndjson = NDJSONTraceReader(source: source, maxIssues: maxIssues, maxLineBytes: maxLineBytes)
        case .gpx:
            format = .gpx
            gpx = GPXTrackReader(source: source, defaultTrip: defaultTrip, maxIssues: maxIssues)
        case .delimited(let f, let layout):
            format = f
            delimited = DelimitedTraceReader(layout: layout, source: source, defaultTrip: defaultTrip, maxIssues: maxIssues, maxLineBytes: maxLineBytes)
        case .unknown:
            return nil
        }
    }

    /// Feeds the next chunk of bytes; lines may span chunks.
    public mutating func consume<S: TraceRowSink>(_ chunk: UnsafeRawBufferPointer, into sink: inout S) throws(TraceReadError) {
        if csv != nil {
            try csv!.consume(chunk, into: &sink)
        } else if ndjson != nil {
            try ndjson!.consume(chunk, into: &sink)
        } else if delimited != nil {
            try delimited!.consume(chunk, into: &sink)
        } else {
            try gpx!.consume(chunk, into: &sink)
        }
    }

    /// Reads a last line without a newline.
    public mutating func finish<S: TraceRowSink>(into sink: inout S) throws(TraceReadError) {
        if csv != nil {
            try csv!.finish(into: &sink)
        } else if ndjson != nil {
            try ndjson!.finish(into: &sink)
        } else if delimited != nil {
            try delimited!.finish(into: &sink)
        } else {
            try gpx!.finish(into: &sink)
        }
    }

    /// Issues since the last call (see the readers' `takeIssues`).
    public mutating func takeIssues() -> [RowIssue] {
        if csv != nil { return csv!.takeIssues() }
        if ndjson != nil { return ndjson!.takeIssues() }
        if delimited != nil { return delimited!.takeIssues() }
        return gpx!.takeIssues()
    }

    public var stats: ReadStats { csv?.stats ?? ndjson?.stats ?? delimited?.stats ?? gpx!.stats }
    public var issues: [RowIssue] { csv?.issues ?? ndjson?.issues ?? delimited?.issues ?? gpx!.issues }
    public var tripNames: [String] { csv?.tripNames ?? ndjson?.tripNames ?? delimited?.tripNames ?? gpx!.tripNames }
    public var tripDevices: [String?] { csv?.tripDevices ?? ndjson?.tripDevices ?? delimited?.tripDevices ?? gpx!.tripDevices }
    /// What the reader guessed (a time unit), for the report; empty when nothing was.
    public var notes: [String] { delimited?.notes ?? [] }
}
