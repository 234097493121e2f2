/// The trace formats streetbump reads.
public enum TraceFormat: String, Sendable, CaseIterable {
    case csv
    case ndjson

    /// Picks the format from a file name, then from the first bytes ('{' means NDJSON).
    public static func detect(name: String, firstBytes: UnsafeRawBufferPointer) -> TraceFormat {
        let lower = name.lowercased()
        if lower.hasSuffix(".ndjson") || lower.hasSuffix(".jsonl") || lower.hasSuffix(".json") { return .ndjson }
        if lower.hasSuffix(".csv") { return .csv }
        for b in firstBytes {
            if b == UInt8(ascii: " ") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") || b == 0xEF || b == 0xBB || b == 0xBF { continue }
            return b == UInt8(ascii: "{") ? .ndjson : .csv
        }
        return .csv
    }
}

/// One reader of whichever format, so callers handle every format the same way.
public struct TraceReader {
    public let format: TraceFormat
    // Exactly one is set; optionals (not an enum payload) so the reader mutates in place.
    private var csv: CanonicalCSVReader?
    private var ndjson: NDJSONTraceReader?

    /// A reader for `format`; `source` names the input in every reported issue.
    public init(format: TraceFormat, source: String, defaultTrip: String, maxIssues: Int = 1000, maxLineBytes: Int = 1 << 20) {
        self.format = format
        switch format {
        case .csv: csv = CanonicalCSVReader(source: source, defaultTrip: defaultTrip, maxIssues: maxIssues, maxLineBytes: maxLineBytes)
        case .ndjson: ndjson = NDJSONTraceReader(source: source, maxIssues: maxIssues, maxLineBytes: maxLineBytes)
        }
    }

    /// Feeds the next chunk of bytes; lines may span chunks.
    public mutating func consume<S: TraceRowSink>(_ chunk: UnsafeRawBufferPointer, into sink: inout S) throws(TraceReadError) {
        if csv != nil { try csv!.consume(chunk, into: &sink) } else { try ndjson!.consume(chunk, into: &sink) }
    }

    /// Reads a last line without a newline.
    public mutating func finish<S: TraceRowSink>(into sink: inout S) throws(TraceReadError) {
        if csv != nil { try csv!.finish(into: &sink) } else { try ndjson!.finish(into: &sink) }
    }

    /// Issues since the last call (see the readers' `takeIssues`).
    public mutating func takeIssues() -> [RowIssue] {
        csv != nil ? csv!.takeIssues() : ndjson!.takeIssues()
    }

    public var stats: ReadStats { csv?.stats ?? ndjson!.stats }
    public var issues: [RowIssue] { csv?.issues ?? ndjson!.issues }
    public var tripNames: [String] { csv?.tripNames ?? ndjson!.tripNames }
    public var tripDevices: [String?] { csv?.tripDevices ?? ndjson!.tripDevices }
}
