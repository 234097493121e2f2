import BumpCore

/// What reading one trace input produced, besides what went into the sink.
public struct ReadOutcome: Sendable {
    public var source: String
    public var format: TraceFormat
    /// More about how it was read, e.g. "iOS, axes negated (not standardised); Accelerometer + Gravity, Location".
    public var detail: String
    public var stats: ReadStats
    public var issues: [RowIssue]
    public var tripNames: [String]
    public var tripDevices: [String?]
    /// Content hash of the bytes read (see `ContentHash`); empty when not asked for.
    public var hash: String
    public var bytes: Int
}

/// How the user asked for inputs to be read.
public struct ReadOptions: Sendable {
    /// A format named with `--input`; nil recognises each input.
    public var format: TraceFormat?
    /// A column map (`--columns`, `--profile`) for single delimited files.
    public var layout: DelimitedLayout?
    /// Limits on decompression (gzip, zip).
    public var limits: UploadLimits = .files
    public var maxIssues = 1000

    public init(format: TraceFormat? = nil, layout: DelimitedLayout? = nil) {
        self.format = format
        self.layout = layout
    }
}

/// One input read from bytes that arrive in chunks (a file, an upload): recognises the format
/// from the name and the first line, hashes the bytes, and feeds the right reader into `sink`.
public struct TraceIntake<Sink: TraceRowSink> {
    public var sink: Sink
    let source: String
    let name: String
    let defaultTrip: String
    let format: TraceFormat?
    let layout: DelimitedLayout?
    let hashing: Bool
    let maxIssues: Int
    private var reader: TraceReader?
    /// The first bytes, kept until the first line is complete so the header can be recognised.
    private var head: [UInt8] = []
    private var hash = ContentHash()
    private var bytes = 0

    /// Longest first line looked at for recognition.
    static var maxHeadBytes: Int { 64 << 10 }

    /// - Parameters:
    ///   - source: how the input is named in issues (a path, `upload`).
    ///   - name: a file name for format detection.
    ///   - defaultTrip: the trip of rows without a trip column; the file's base name when nil.
    ///   - format: the format to read it as (nil: recognise it).
    ///   - layout: a column map, which reads the input as a delimited file.
    public init(
        sink: Sink, source: String, name: String, defaultTrip: String? = nil, format: TraceFormat?, layout: DelimitedLayout? = nil,
        hashing: Bool = true, maxIssues: Int = 1000
    ) {
        self.sink = sink
        self.source = source
        self.name = name
        self.defaultTrip = defaultTrip ?? TraceInput.file(name).tripName
        self.format = format
        self.layout = layout
        self.hashing = hashing
        self.maxIssues = maxIssues
    }

    /// The trip names met so far.
    public var tripNames: [String] { reader?.tripNames ?? [] }
    /// The format, once recognised.
    public var recognizedFormat: TraceFormat? { reader?.format }

    public mutating func consume(_ chunk: UnsafeRawBufferPointer) throws(TraceReadError) {
        if hashing { hash.update(chunk) }
        bytes += chunk.count
        if reader == nil {
            head.append(contentsOf: chunk)
            guard Self.hasFirstLine(head) || head.count >= Self.maxHeadBytes else { return }
            try start()
            return
        }
        try reader!.consume(chunk, into: &sink)
    }

    /// Recognises the format from the head and feeds the head to its reader.
    private mutating func start() throws(TraceReadError) {
        let recognition: TraceRecognition
        if let layout {
            recognition = .delimited(.columns, layout)
        } else {
            recognition = head.withUnsafeBytes { TraceRecognizer.recognize(name: name, head: $0, forcing: format) }
        }
        guard let r = TraceReader(recognition: recognition, source: source, defaultTrip: defaultTrip, maxIssues: maxIssues) else {
            if case .unknown(let diagnosis) = recognition {
                throw TraceReadError(source: source, line: 1, message: diagnosis.description)
            }
            throw TraceReadError(source: source, line: 1, message: "cannot read this input")
        }
        reader = r
        var first: [UInt8] = []
        swap(&first, &head)
        let result: Result<Void, TraceReadError> = first.withUnsafeBytes { raw in
            do throws(TraceReadError) {
                try reader!.consume(raw, into: &sink)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    private static func hasFirstLine(_ head: [UInt8]) -> Bool {
        // A line with something on it, ended by a newline (blank lines before it do not count).
        var sawText = false
        for b in head {
            if b == UInt8(ascii: "\n") {
                if sawText { return true }
            } else if b != UInt8(ascii: "\r") && b != UInt8(ascii: " ") {
                sawText = true
            }
        }
        return false
    }

    /// Ends the input. Throws when it was empty.
    public mutating func finish() throws -> ReadOutcome {
        if reader == nil, !head.isEmpty { try start() }
        guard var r = reader else {
            throw FileError(path: source, message: "empty input: expected a header line t,ax,ay,az,lat,lon,speed,accuracy or NDJSON objects")
        }
        try r.finish(into: &sink)
        reader = r
        return ReadOutcome(
            source: source, format: r.format, detail: r.notes.joined(separator: "; "), stats: r.stats, issues: r.issues, tripNames: r.tripNames,
            tripDevices: r.tripDevices, hash: hashing ? hash.finalize() : "", bytes: bytes)
    }
}

/// Reads a trace input (a file, stdin "-", an export folder or zip, a GPX track with its
/// accelerometer file) in chunks through the right readers into a row sink, hashing the bytes
/// on the way. gzip files are decompressed. Memory stays bounded whatever the size.
public enum TraceFileReader {
    /// `afterChunk` runs after every chunk with the sink and the trip names so far, so callers
    /// can hand on events as they become final.
    public static func read<S: TraceRowSink>(
        path: String, format: TraceFormat?, into sink: inout S, hashing: Bool = true,
        afterChunk: (inout S, [String]) throws -> Void = { _, _ in }
    ) throws -> ReadOutcome {
        try read(.file(path), options: ReadOptions(format: format), into: &sink, hashing: hashing, afterChunk: afterChunk)
    }

    /// Reads one input (see `TraceInputs.find`).
    public static func read<S: TraceRowSink>(
        _ input: TraceInput, options: ReadOptions, into sink: inout S, hashing: Bool = true,
        afterChunk: (inout S, [String]) throws -> Void = { _, _ in }
    ) throws -> ReadOutcome {
        switch input.kind {
        case .file(let path):
            let source = try ByteSource(path: path, limits: options.limits)
            var intake = TraceIntake(
                sink: sink, source: path == "-" ? "<stdin>" : path, name: path, format: options.format, layout: options.layout,
                hashing: hashing, maxIssues: options.maxIssues)
            while try source.next({ try intake.consume($0) }) {
                try afterChunk(&intake.sink, intake.tripNames)
            }
            var outcome = try intake.finish()
            sink = intake.sink
            if path.lowercased().hasSuffix(".gz") { outcome.detail = outcome.detail.isEmpty ? "gzip" : "gzip; " + outcome.detail }
            return outcome
        case .unreadable(let reason), .leftOut(let reason):
            throw FileError(path: input.path, message: reason)
        case .sensorLogger, .phyphox, .gpxJoined:
            var recording = try MergedRecording(input, options: options, hashing: hashing)
            return try recording.read(into: &sink, afterChunk: afterChunk)
        }
    }
}
