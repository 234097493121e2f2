import ArgumentParser
import BumpCore
import BumpIngest
import BumpStore
#if canImport(Glibc)
import Glibc
#endif

/// `streetbump ingest`: files or folders into the store, then re-clustering.
struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Detect bumps in trace files and store them; cluster and classify across all trips.",
        discussion: """
            Idempotent: a file whose content was ingested before is skipped, so running twice \
            changes nothing. A file that cannot be read is reported and the others go in (exit status 1). \
            Raw samples are never stored; events and coverage near each trip's ends are trimmed (--privacy-trim).
            """)

    @Argument(help: "Trace files, folders or zips: canonical CSV, NDJSON, Sensor Logger, Physics Toolbox, phyphox, GPX with an accelerometer file, or any CSV with --columns; gzip accepted. Each input's recognised format is reported.")
    var paths: [String]

    @OptionGroup var reading: InputOptions
    @OptionGroup var store: StoreOptions
    @OptionGroup var pipeline: PipelineOptions

    @Option(help: "Files read in parallel, default 2. (jobs, STREETBUMP_JOBS)")
    var jobs: Int?

    @Option(help: "How many row problems to print per file.")
    var maxIssues = 10

    func run() async throws {
        let jobs = try jobs ?? Configuration.current.integer("jobs", in: 1...256) ?? 2
        if jobs < 1 { throw ValidationError("jobs must be at least 1") }
        var err = ByteWriter.standardError()
        let options = try reading.readOptions()
        let (files, skipped) = try TraceFiles.inputs(paths, options: options)
        for (path, reason) in skipped { try err.write("note: \(path): skipped, \(reason)\n") }
        let settings = try pipeline.settings()
        let writer = try StoreWriter(store: try store.open(), settings: settings)
        let progress = Progress(total: files.count)
        var summary = IngestSummary()

        // Detection runs on `jobs` files at once; writes happen here, one at a time, in input order.
        try await withThrowingTaskGroup(of: (Int, Result<DetectedTrace, any Error>).self) { group in
            var next = 0
            func launch() {
                guard next < files.count else { return }
                let index = next, input = files[index], detector = settings.detector
                group.addTask { (index, Result { try DetectedTrace.read(input, options: options, detector: detector) }) }
                next += 1
            }
            for _ in 0..<jobs { launch() }
            var finished: [Int: Result<DetectedTrace, any Error>] = [:]
            var written = 0
            while let (index, result) = try await group.next() {
                finished[index] = result
                launch()
                while let result = finished.removeValue(forKey: written) {
                    try summary.add(files[written].path, result, writer: writer, maxIssues: maxIssues, err: &err)
                    written += 1
                    progress.update(done: written)
                }
            }
        }
        progress.finish()
        let changes = try ClusterUpdater.update(store: writer.store, settings: settings)
        try err.write(summary.text(changes: changes, db: store.path))
        try err.flush()
        if summary.failed > 0 { throw ExitCode(1) }
    }
}

/// Totals of one ingest run, for the closing summary.
struct IngestSummary {
    var files = 0, skipped = 0, failed = 0, trips = 0, samples = 0, rows = 0, rejected = 0, events = 0, trimmed = 0
    var duplicateTrips: [String] = []

    mutating func add(_ path: String, _ result: Result<DetectedTrace, any Error>, writer: StoreWriter, maxIssues: Int, err: inout ByteWriter) throws {
        files += 1
        do {
            let trace = try result.get()
            for issue in trace.outcome.issues.prefix(maxIssues) { try err.write("warning: \(issue)\n") }
            if trace.outcome.stats.rejectedRows > maxIssues {
                try err.write("warning: \(path): \(trace.outcome.stats.rejectedRows - maxIssues) more rejected rows not shown\n")
            }
            let outcome = try writer.write(trace)
            if case .alreadyIngested(let previous) = outcome.status {
                skipped += 1
                try err.write("note: \(path): already ingested (same content as \(previous)); skipped\n")
                return
            }
            try err.write("\(path): \(TraceFiles.describe(trace.outcome)), \(trace.outcome.stats.rows) rows, \(outcome.events) events\n")
            if let dropped = TraceFiles.droppedSamples(trace.trips.map(\.stats), path: path) { try err.write(dropped) }
            for name in outcome.duplicateTrips {
                try err.write("warning: \(path): trip '\(name)' is already in the store from another file (same name, overlapping time, no other phone named); skipped, so its hits do not count twice: give it another name if it is another trip\n")
            }
            for (from, to) in outcome.renamedTrips {
                try err.write("note: \(path): the store already holds another trip named '\(from)' (at another time or from another phone); this one is stored as '\(to)'\n")
            }
            duplicateTrips += outcome.duplicateTrips
            rows += trace.outcome.stats.rows
            rejected += trace.outcome.stats.rejectedRows
            samples += outcome.samples
            trips += outcome.trips
            events += outcome.events
            trimmed += outcome.trimmedEvents
        } catch {
            failed += 1
            try err.write("error: \(error)\n")
        }
        try err.flush()
    }

    func text(changes: ClusterChanges, db: String) -> String {
        var s = "\(files) files (\(skipped) already ingested, \(failed) failed), \(trips) trips, \(samples) samples, "
        s += "\(rows) rows (\(rejected) rejected), \(events) events stored (\(trimmed) trimmed for privacy)\n"
        s += "clusters: \(changes.total) (\(changes.created) new, \(changes.updated) kept, \(changes.removed) merged away), \(changes.potholes) potholes -> \(db)\n"
        return s
    }
}

/// A one-line progress bar on stderr, only when stderr is a terminal.
final class Progress {
    let total: Int
    let enabled: Bool

    init(total: Int) {
        self.total = total
        enabled = isatty(2) == 1 && total > 1
    }

    func update(done: Int) {
        guard enabled else { return }
        let width = 30, filled = total > 0 ? width * done / total : width
        var err = ByteWriter.standardError()
        try? err.write("\r[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(done)/\(total) files")
        try? err.flush()
    }

    func finish() {
        guard enabled else { return }
        var err = ByteWriter.standardError()
        try? err.write("\n")
        try? err.flush()
    }
}
