import BumpCore

/// Reads one trace file through the detector, handing out events as they become final.
enum DetectionRun {
    struct Result {
        var stats: ReadStats
        var issues: [RowIssue]
        var trips: [String]
        var tripStats: [TripStats]
    }

    static func file(
        _ path: String, format: TraceFormat?, config: DetectorConfig,
        onEvent: (BumpEvent, String) throws -> Void
    ) throws -> Result {
        var file = try ChunkedFileReader(path: path)
        defer { file.close() }
        var reader: TraceReader? = nil
        var detector = TraceDetector(config: config)
        let source = path == "-" ? "<stdin>" : path
        try file.forEachChunk { chunk in
            if reader == nil {
                let f = format ?? TraceFormat.detect(name: path, firstBytes: chunk)
                reader = TraceReader(format: f, source: source, defaultTrip: FileSystem.baseName(path))
            }
            try reader!.consume(chunk, into: &detector)
            if !detector.events.isEmpty {
                let names = reader!.tripNames
                for e in detector.events { try onEvent(e, names[e.trip]) }
                detector.events.removeAll(keepingCapacity: true)
            }
        }
        guard var r = reader else {
            throw FileError(path: source, message: "empty file: expected a header line t,ax,ay,az,lat,lon,speed,accuracy or NDJSON objects")
        }
        try r.finish(into: &detector)
        detector.finish()
        let names = r.tripNames
        for e in detector.events { try onEvent(e, names[e.trip]) }
        return Result(stats: r.stats, issues: r.issues, trips: names, tripStats: detector.tripStats)
    }
}
