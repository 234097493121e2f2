import BumpCore
import Foundation

/// A recording spread over several files (a Sensor Logger or phyphox export, a GPX track with
/// its accelerometer file), read as one time-ordered trace: each file has its own reader, and
/// `TimeMerge` asks for the next chunk of whichever file it needs.
struct MergedRecording {
    private struct Stream {
        var name: String
        var source: ByteSource
        var role: TimeMerge.Role
    }

    /// Pushes one stream's rows into the merge as the reader parses them (nothing collected in between).
    private struct MergeFeeder: TraceRowSink {
        var merge: TimeMerge
        var stream = 0
        /// Per stream: the earliest and latest time of its rows.
        var spans: [(first: Double, last: Double)]
        mutating func accept(_ row: TraceRow, trip: Int) {
            if row.t.isFinite {
                spans[stream].first = min(spans[stream].first, row.t)
                spans[stream].last = max(spans[stream].last, row.t)
            }
            merge.push(row, stream: stream)
        }
    }

    /// Counts the rows the merge passes on.
    private struct CountingSink<Inner: TraceRowSink>: TraceRowSink {
        var inner: Inner
        var rows = 0
        mutating func accept(_ row: TraceRow, trip: Int) {
            rows += 1
            inner.accept(row, trip: trip)
        }
    }

    let input: TraceInput
    let format: TraceFormat
    private var detail: [String] = []
    private var device: String?
    private var streams: [Stream] = []
    private var readers: [TraceReader] = []
    private var hashes: [ContentHash] = []
    private let hashing: Bool
    private let options: ReadOptions

    init(_ input: TraceInput, options: ReadOptions, hashing: Bool) throws {
        self.input = input
        self.hashing = hashing
        self.options = options
        switch input.kind {
        case .sensorLogger(let container):
            format = .sensorLogger
            try addSensorLogger(container)
        case .phyphox(let container):
            format = .phyphox
            try addPhyphox(container)
        case .gpxJoined(let gpx, let acceleration):
            format = .gpx
            let head = ByteSource.head(of: acceleration, count: TraceIntake<MergeFeeder>.maxHeadBytes)
            let recognition: TraceRecognition = options.layout.map { .delimited(.columns, $0) }
                ?? head.withUnsafeBytes { TraceRecognizer.recognize(name: acceleration, head: $0) }
            if case .unknown(let diagnosis) = recognition {
                throw TraceReadError(source: acceleration, line: 1, message: diagnosis.description)
            }
            try add(acceleration, try ByteSource(path: acceleration, limits: options.limits), recognition, .rows)
            try add(gpx, try ByteSource(path: gpx, limits: options.limits), .gpx, .rows)
            detail.append("track joined with \(acceleration) (\(recognition.format?.displayName ?? "?"))")
        case .file, .unreadable, .leftOut:
            preconditionFailure("single files are read by TraceIntake")
        }
    }

    private mutating func add(_ name: String, _ source: ByteSource, _ recognition: TraceRecognition, _ role: TimeMerge.Role) throws {
        guard let reader = TraceReader(recognition: recognition, source: name, defaultTrip: input.tripName, maxIssues: options.maxIssues) else {
            throw FileError(path: name, message: "cannot be read")
        }
        streams.append(Stream(name: name, source: source, role: role))
        readers.append(reader)
        hashes.append(ContentHash())
    }

    private mutating func addSensorLogger(_ container: RecordingContainer) throws {
        let files = try container.files()
        func find(_ kind: SensorLoggerFormat.File) -> String? { files.first { SensorLoggerFormat.File(fileName: $0) == kind } }
        var metadata = SensorLoggerFormat.Metadata(platform: nil, standardised: false)
        if let file = find(.metadata) { metadata = SensorLoggerFormat.Metadata(csv: try container.contents(file)) }
        device = metadata.device
        let flip = metadata.needsSignFlip
        let acceleration = SensorLoggerFormat.accelerationLayout(flipped: flip)
        var used: [String] = []
        if let total = find(.totalAcceleration) {
            try add(container.displayName(total), try container.open(total), .delimited(.sensorLogger, acceleration), .rows)
            used.append("TotalAcceleration")
        } else if let accelerometer = find(.accelerometer) {
            guard let gravity = find(.gravity) else {
                throw FileError(path: container.path, message: "Accelerometer.csv holds acceleration without gravity, and there is neither TotalAcceleration.csv nor Gravity.csv to add it back; enable Gravity or Total Acceleration in Sensor Logger")
            }
            try add(container.displayName(accelerometer), try container.open(accelerometer), .delimited(.sensorLogger, acceleration), .userAcceleration)
            try add(container.displayName(gravity), try container.open(gravity), .delimited(.sensorLogger, acceleration), .gravity)
            used.append("Accelerometer + Gravity")
        } else {
            throw FileError(path: container.path, message: "a Sensor Logger export without TotalAcceleration.csv or Accelerometer.csv")
        }
        if let location = find(.location) {
            try add(container.displayName(location), try container.open(location), .delimited(.sensorLogger, SensorLoggerFormat.locationLayout), .rows)
            used.append("Location")
        } else {
            used.append("no Location.csv: events cannot be placed")
        }
        detail.append(metadata.platform.map { $0 == "ios" ? "iOS" : $0 == "android" ? "Android" : $0 } ?? "platform unknown (no Metadata.csv)")
        if flip { detail.append("axes negated (iOS, not standardised)") }
        detail.append(used.joined(separator: ", "))
    }

    private mutating func addPhyphox(_ container: RecordingContainer) throws {
        let files = try container.files()
        var offset = 0.0
        if let time = files.first(where: { $0.lowercased() == "meta/time.csv" }),
            let start = PhyphoxFormat.startOffset(timeCSV: try container.contents(time))
        {
            offset = start
            detail.append("times from meta/time.csv")
        } else {
            detail.append("times since the start (no meta/time.csv)")
        }
        var used: [String] = []
        for file in files where TraceInputs.isCSV(file) && !file.hasPrefix("meta/") {
            let names = TraceInputs.headerNames(container.head(file))
            guard let (kind, layout) = PhyphoxFormat.recognize(header: names), kind != .linearAcceleration else { continue }
            var shifted = layout
            shifted.timeOffset = offset
            try add(container.displayName(file), try container.open(file), .delimited(.phyphox, shifted), .rows)
            used.append(file)
        }
        detail.append(used.joined(separator: ", "))
    }

    /// A time (epoch ms) as UTC ISO 8601, to the second.
    static func moment(_ t: Double) -> String {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime]
        return format.string(from: Date(timeIntervalSince1970: t / 1_000))
    }

    /// Reads every stream to its end through the merge into `sink`.
    mutating func read<S: TraceRowSink>(into sink: inout S, afterChunk: (inout S, [String]) throws -> Void) throws -> ReadOutcome {
        // The source hands out at most ByteSource.maxOutput bytes a call, and the merge holds at
        // most its maxHeld rows a stream: memory stays bounded however the files are compressed.
        var feeder = MergeFeeder(merge: TimeMerge(roles: streams.map(\.role)), spans: streams.map { _ in (.infinity, -.infinity) })
        var out = CountingSink(inner: sink)
        let names = [input.tripName]
        while let i = feeder.merge.streamToRead {
            feeder.stream = i
            let source = streams[i].source
            let more = try source.next { chunk in
                if hashing { hashes[i].update(chunk) }
                try readers[i].consume(chunk, into: &feeder)
            }
            if !more {
                try readers[i].finish(into: &feeder)
                feeder.merge.close(stream: i)
            }
            feeder.merge.release(into: &out)
            try afterChunk(&out.inner, names)
        }
        var merge = feeder.merge
        merge.release(into: &out)
        sink = out.inner

        var stats = ReadStats()
        var issues: [RowIssue] = []
        for reader in readers {
            stats.lines += reader.stats.lines
            stats.rejectedRows += reader.stats.rejectedRows
            stats.bytes += reader.stats.bytes
            issues += reader.issues
        }
        var notes = detail + readers.flatMap(\.notes)
        // Files whose clocks never meet (one in time since the start, one in dates) merge into
        // two halves that nothing can join: no event gets a place. Say so.
        let spans = zip(streams, feeder.spans).filter { $0.1.first <= $0.1.last }
        for (i, a) in spans.enumerated() {
            for b in spans[(i + 1)...] where a.1.last < b.1.first || b.1.last < a.1.first {
                notes.append("the times of \(a.0.name) (\(Self.moment(a.1.first)) to \(Self.moment(a.1.last))) and of \(b.0.name) (\(Self.moment(b.1.first)) to \(Self.moment(b.1.last))) do not overlap, so nothing can be placed; do both files carry dates?")
            }
        }
        stats.rows = out.rows
        if merge.late > 0 { notes.append("\(merge.late) rows more than 1 s out of order dropped") }
        if merge.duplicates > 0 { notes.append("\(merge.duplicates) duplicate rows dropped") }
        if merge.overflowed > 0 { notes.append("\(merge.overflowed) rows passed on unsorted: more than 1,000,000 waited in one stream while its times barely advanced") }
        if merge.withoutGravity > 0 { notes.append("\(merge.withoutGravity) rows before the first gravity reading dropped") }
        var combined = ContentHash()
        if hashing {
            // One hash of the per-file hashes, in a fixed order: the same export gives the same hash.
            for (stream, hash) in zip(streams, hashes).sorted(by: { $0.0.name < $1.0.name }) {
                let file = stream.name.split(whereSeparator: { $0 == "/" || $0 == ":" }).last.map(String.init) ?? stream.name
                let line = Array((file + ":" + hash.finalize() + "\n").utf8)
                line.withUnsafeBytes { combined.update($0) }
            }
        }
        return ReadOutcome(
            source: input.path, format: format, detail: notes.joined(separator: "; "), stats: stats, issues: issues, tripNames: names,
            tripDevices: [device], hash: hashing ? combined.finalize() : "", bytes: stats.bytes)
    }
}
