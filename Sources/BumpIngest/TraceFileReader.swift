import BumpCore

/// What reading one trace file produced, besides what went into the sink.
public struct ReadOutcome: Sendable {
    public var source: String
    public var format: TraceFormat
    public var stats: ReadStats
    public var issues: [RowIssue]
    public var tripNames: [String]
    public var tripDevices: [String?]
    /// Content hash of the bytes read (see `ContentHash`); empty when not asked for.
    public var hash: String
    public var bytes: Int
}

/// Reads a trace file (or stdin, "-") in chunks through the right reader into a row sink,
/// hashing the bytes on the way. Memory stays bounded whatever the file's size.
public enum TraceFileReader {
    /// `afterChunk` runs after every chunk with the sink and the trip names so far, so callers
    /// can hand on events as they become final.
    public static func read<S: TraceRowSink>(
        path: String, format: TraceFormat?, into sink: inout S, hashing: Bool = true,
        afterChunk: (inout S, [String]) throws -> Void = { _, _ in }
    ) throws -> ReadOutcome {
        var file = try ChunkedFileReader(path: path)
        defer { file.close() }
        let source = path == "-" ? "<stdin>" : path
        var reader: TraceReader? = nil
        var hash = ContentHash()
        var bytes = 0
        try file.forEachChunk { chunk in
            if hashing { hash.update(chunk) }
            bytes += chunk.count
            if reader == nil {
                let f = format ?? TraceFormat.detect(name: path, firstBytes: chunk)
                reader = TraceReader(format: f, source: source, defaultTrip: FileSystem.baseName(path))
            }
            try reader!.consume(chunk, into: &sink)
            try afterChunk(&sink, reader!.tripNames)
        }
        guard var r = reader else {
            throw FileError(path: source, message: "empty file: expected a header line t,ax,ay,az,lat,lon,speed,accuracy or NDJSON objects")
        }
        try r.finish(into: &sink)
        return ReadOutcome(
            source: source, format: r.format, stats: r.stats, issues: r.issues, tripNames: r.tripNames,
            tripDevices: r.tripDevices, hash: hashing ? hash.finalize() : "", bytes: bytes)
    }
}
