import BumpCore

/// Rows parsed from a piece of a stream, with what the reader learnt on the way. The input can
/// be parsed on one thread while a `StreamSession` detects and stores on another.
public struct ParsedRows: Sendable {
    public var rows: [(row: TraceRow, trip: Int)] = []
    /// Names of the trips first seen in this piece; their indices follow those already known.
    public var newTrips: [String] = []
    /// Devices learnt in this piece (the first non-empty one of each trip).
    public var devices: [(trip: Int, device: String)] = []
    /// Row problems in this piece (file, line, field, reason).
    public var issues: [RowIssue] = []
    /// The reader's counts after this piece.
    public var stats = ReadStats()
    /// Set when the input turned out not to be text of the format: nothing after it is read.
    public var failure: TraceReadError?
}

/// The parsing half of a stream: bytes in, `ParsedRows` out.
public struct StreamParser {
    private var reader: TraceReader
    private var collected = RowCollector()
    private var knownTrips = 0
    /// Trips with no device yet: the only ones whose device can still appear.
    private var withoutDevice: [Int] = []
    private var failed = false

    public init(format: TraceFormat, maxLineBytes: Int) {
        reader = TraceReader(format: format, source: "stdin", defaultTrip: "stdin", maxIssues: 1_000, maxLineBytes: maxLineBytes)
    }

    /// Parses the next bytes; lines may span calls. After a failure nothing more is read.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) -> ParsedRows {
        guard !failed else { return ParsedRows() }
        do {
            try reader.consume(bytes, into: &collected)
            return take(failure: nil)
        } catch {
            failed = true
            return take(failure: error)
        }
    }

    /// The end of the input: a last line without a newline.
    public mutating func finish() -> ParsedRows {
        guard !failed else { return ParsedRows() }
        // A broken last line is only a row problem here.
        try? reader.finish(into: &collected)
        return take(failure: nil)
    }

    private mutating func take(failure: TraceReadError?) -> ParsedRows {
        var parsed = ParsedRows()
        swap(&parsed.rows, &collected.rows)
        let names = reader.tripNames
        if names.count > knownTrips {
            parsed.newTrips = Array(names[knownTrips...])
            withoutDevice += knownTrips..<names.count
            knownTrips = names.count
        }
        if !withoutDevice.isEmpty {
            let devices = reader.tripDevices
            withoutDevice.removeAll { trip in
                guard let device = devices[trip] else { return false }
                parsed.devices.append((trip, device))
                return true
            }
        }
        parsed.issues = reader.takeIssues()
        parsed.stats = reader.stats
        parsed.failure = failure
        return parsed
    }
}

private struct RowCollector: TraceRowSink {
    var rows: [(row: TraceRow, trip: Int)] = []
    mutating func accept(_ row: TraceRow, trip: Int) { rows.append((row, trip)) }
}
