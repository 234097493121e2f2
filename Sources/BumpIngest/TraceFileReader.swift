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

/// One input read from bytes that arrive in chunks (a file, an upload): picks the format from
/// the name or the first bytes, hashes the bytes, and feeds the right reader into `sink`.
public struct TraceIntake<Sink: TraceRowSink> {
    public var sink: Sink
    let source: String
    let name: String
    let defaultTrip: String
    let format: TraceFormat?
    let hashing: Bool
    private var reader: TraceReader?
    private var hash = ContentHash()
    private var bytes = 0

    /// - Parameters:
    ///   - source: how the input is named in issues (a path, `upload`).
    ///   - name: a file name for format detection.
    ///   - defaultTrip: the trip of rows without a trip column; the file's base name when nil.
    public init(sink: Sink, source: String, name: String, defaultTrip: String? = nil, format: TraceFormat?, hashing: Bool = true) {
        self.sink = sink
        self.source = source
        self.name = name
        self.defaultTrip = defaultTrip ?? FileSystem.baseName(name)
        self.format = format
        self.hashing = hashing
    }

    /// The trip names met so far.
    public var tripNames: [String] { reader?.tripNames ?? [] }

    public mutating func consume(_ chunk: UnsafeRawBufferPointer) throws(TraceReadError) {
        if hashing { hash.update(chunk) }
        bytes += chunk.count
        if reader == nil {
            reader = TraceReader(format: format ?? TraceFormat.detect(name: name, firstBytes: chunk), source: source,
                                 defaultTrip: defaultTrip)
        }
        try reader!.consume(chunk, into: &sink)
    }

    /// Ends the input. Throws when it was empty.
    public mutating func finish() throws -> ReadOutcome {
        guard var r = reader else {
            throw FileError(path: source, message: "empty input: expected a header line t,ax,ay,az,lat,lon,speed,accuracy or NDJSON objects")
        }
        try r.finish(into: &sink)
        reader = r
        return ReadOutcome(
            source: source, format: r.format, stats: r.stats, issues: r.issues, tripNames: r.tripNames,
            tripDevices: r.tripDevices, hash: hashing ? hash.finalize() : "", bytes: bytes)
    }
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
        var intake = TraceIntake(sink: sink, source: path == "-" ? "<stdin>" : path, name: path, format: format, hashing: hashing)
        try file.forEachChunk { chunk in
            try intake.consume(chunk)
            try afterChunk(&intake.sink, intake.tripNames)
        }
        let outcome = try intake.finish()
        sink = intake.sink
        return outcome
    }
}
