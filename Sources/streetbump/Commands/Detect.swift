import ArgumentParser
import BumpCore
import BumpIngest

/// `streetbump detect`: bump events of trace files to stdout.
struct Detect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Detect bump events in trace files and print them (CSV or JSON lines).",
        discussion: """
            A malformed row is reported on stderr and skipped; a file that cannot be read is reported and the others go on (exit status 1 at the end). \
            With --jobs above 1, files are read in parallel and printed in the order given, exactly as --jobs 1 prints them.
            """)

    @Argument(help: "Trace files, folders or zips: canonical CSV, NDJSON, Sensor Logger, Physics Toolbox, phyphox, GPX with an accelerometer file, or any CSV with --columns; gzip accepted ('-' reads stdin).")
    var paths: [String]

    enum OutputFormat: String, ExpressibleByArgument { case csv, json }

    @Option(help: "Output format: csv or json (one object per line).")
    var format: OutputFormat = .csv

    @OptionGroup var reading: InputOptions

    @Option(help: "Minimum speed in m/s for a bump to count, default 2.5. (min_speed, STREETBUMP_MIN_SPEED)")
    var minSpeed: Double?

    @Option(help: "Files read in parallel, default 2. (jobs, STREETBUMP_JOBS)")
    var jobs: Int?

    @Option(help: "How many row problems to print per file.")
    var maxIssues = 20

    func run() async throws {
        let jobs = try jobs ?? Configuration.current.integer("jobs", in: 1...256) ?? 2
        if jobs < 1 { throw ValidationError("jobs must be at least 1") }
        var config = DetectorConfig()
        if let speed = try minSpeed ?? Configuration.current.number("min_speed") { config.minSpeed = speed }
        var out = ByteWriter.standardOutput()
        var err = ByteWriter.standardError()
        if format == .csv { try out.write(EventWriter.csvHeader) }
        let options = try reading.readOptions()
        let (inputs, skipped) = try TraceFiles.inputs(paths, options: options)
        for (path, reason) in skipped { try err.write("note: \(path): skipped, \(reason)\n") }
        let detection = FileDetection(config: config, options: options, format: format, maxIssues: maxIssues)
        var total = FileDetection.Report()

        if jobs == 1 || inputs.count < 2 {
            // One at a time, events streamed as they become final: memory stays flat for any size.
            var lines: [UInt8] = []
            func pass(_ lines: inout [UInt8]) throws {
                out.buffer.append(contentsOf: lines)
                lines.removeAll(keepingCapacity: true)
                try out.flushIfFull()
            }
            for input in inputs {
                let report = detection.run(input, into: &lines, whenFull: pass)
                try pass(&lines)
                total.add(report)
                try err.write(report.text)
                try err.flush()
            }
        } else {
            // `jobs` files at once, each into its own buffer (about 0.1 % of its size), printed
            // in input order. At most 4 × jobs files run ahead of the one printed next.
            try await withThrowingTaskGroup(of: (Int, [UInt8], FileDetection.Report).self) { group in
                var next = 0, printed = 0, running = 0
                func launch() {
                    while running < jobs && next < inputs.count && next - printed < 4 * jobs {
                        let index = next, input = inputs[index]
                        group.addTask {
                            var buffer: [UInt8] = []
                            let report = detection.run(input, into: &buffer, whenFull: { _ in })
                            return (index, buffer, report)
                        }
                        next += 1
                        running += 1
                    }
                }
                launch()
                var finished: [Int: ([UInt8], FileDetection.Report)] = [:]
                while let (index, buffer, report) = try await group.next() {
                    running -= 1
                    finished[index] = (buffer, report)
                    while let (buffer, report) = finished.removeValue(forKey: printed) {
                        out.buffer.append(contentsOf: buffer)
                        try out.flushIfFull()
                        total.add(report)
                        try err.write(report.text)
                        try err.flush()
                        printed += 1
                    }
                    launch()
                }
            }
        }
        try out.flush()
        try err.write("\(total.files) files, \(total.rows) rows, \(total.rejected) rejected, \(total.events) events\(total.failed > 0 ? ", \(total.failed) files failed" : "")\n")
        try err.flush()
        if total.failed > 0 { throw ExitCode(1) }
    }
}

/// Detection of one input as `detect` prints it: event lines, and the report for stderr.
struct FileDetection: Sendable {
    let config: DetectorConfig
    let options: ReadOptions
    let format: Detect.OutputFormat
    let maxIssues: Int

    /// Counts for the closing line, and what to print on stderr for the files counted.
    struct Report: Sendable {
        var files = 0, rows = 0, rejected = 0, events = 0, failed = 0
        var text = ""

        mutating func add(_ other: Report) {
            files += other.files
            rows += other.rows
            rejected += other.rejected
            events += other.events
            failed += other.failed
        }
    }

    /// Appends the input's event lines to `out`, calling `whenFull` after each chunk so the
    /// caller can pass them on (and empty `out`). A failure is reported, not thrown: lines
    /// already made stay.
    func run(_ input: TraceInput, into out: inout [UInt8], whenFull passOn: (inout [UInt8]) throws -> Void) -> Report {
        var report = Report(files: 1)
        do {
            var detector = TraceDetector(config: config)
            func emit(_ detector: inout TraceDetector, _ names: [String]) throws {
                for event in detector.events {
                    switch format {
                    case .csv: EventWriter.appendCSV(event, trip: names[event.trip], to: &out)
                    case .json: EventWriter.appendJSON(event, trip: names[event.trip], to: &out)
                    }
                    report.events += 1
                }
                detector.events.removeAll(keepingCapacity: true)
                try passOn(&out)
            }
            let result = try TraceFileReader.read(input, options: options, into: &detector, hashing: false, afterChunk: emit)
            detector.finish()
            try emit(&detector, result.tripNames)
            report.text += "\(input.path): \(TraceFiles.describe(result)), \(result.stats.rows) rows, \(report.events) events\n"
            report.text += TraceFiles.droppedSamples(detector.tripStats, path: input.path) ?? ""
            report.rows = result.stats.rows
            report.rejected = result.stats.rejectedRows
            for issue in result.issues.prefix(maxIssues) { report.text += "warning: \(issue)\n" }
            if result.stats.rejectedRows > maxIssues {
                report.text += "warning: \(input.path): \(result.stats.rejectedRows - maxIssues) more rejected rows not shown\n"
            }
        } catch {
            report.failed = 1
            report.text += "error: \(error)\n"
        }
        return report
    }
}
