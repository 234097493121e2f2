import ArgumentParser
import BumpCore
import BumpIngest

/// `streetbump detect`: bump events of trace files to stdout.
struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Detect bump events in trace files and print them (CSV or JSON lines).",
        discussion: "A malformed row is reported on stderr and skipped; a file that cannot be read is reported and the others go on (exit status 1 at the end).")

    @Argument(help: "Trace files, folders or zips: canonical CSV, NDJSON, Sensor Logger, Physics Toolbox, phyphox, GPX with an accelerometer file, or any CSV with --columns; gzip accepted ('-' reads stdin).")
    var paths: [String]

    enum OutputFormat: String, ExpressibleByArgument { case csv, json }

    @Option(help: "Output format: csv or json (one object per line).")
    var format: OutputFormat = .csv

    @OptionGroup var reading: InputOptions

    @Option(help: "Minimum speed in m/s for a bump to count, default 2.5. (min_speed, STREETBUMP_MIN_SPEED)")
    var minSpeed: Double?

    @Option(help: "How many row problems to print per file.")
    var maxIssues = 20

    func run() throws {
        var config = DetectorConfig()
        if let speed = try minSpeed ?? Configuration.current.number("min_speed") { config.minSpeed = speed }
        var out = ByteWriter.standardOutput()
        var err = ByteWriter.standardError()
        if format == .csv { try out.write(EventWriter.csvHeader) }
        var total = ReadStats(), events = 0, failed = 0, files = 0
        let options = try reading.readOptions()
        let (inputs, skipped) = try TraceFiles.inputs(paths, options: options)
        for (path, reason) in skipped { try err.write("note: \(path): skipped, \(reason)\n") }
        for input in inputs {
            let path = input.path
            files += 1
            do {
                var detector = TraceDetector(config: config)
                func emit(_ detector: inout TraceDetector, _ names: [String]) throws {
                    for event in detector.events {
                        switch format {
                        case .csv: EventWriter.appendCSV(event, trip: names[event.trip], to: &out.buffer)
                        case .json: EventWriter.appendJSON(event, trip: names[event.trip], to: &out.buffer)
                        }
                        events += 1
                    }
                    detector.events.removeAll(keepingCapacity: true)
                    try out.flushIfFull()
                }
                let before = events
                let result = try TraceFileReader.read(input, options: options, into: &detector, hashing: false, afterChunk: emit)
                detector.finish()
                try emit(&detector, result.tripNames)
                try err.write("\(path): \(TraceFiles.describe(result)), \(result.stats.rows) rows, \(events - before) events\n")
                total.rows += result.stats.rows
                total.rejectedRows += result.stats.rejectedRows
                for issue in result.issues.prefix(maxIssues) { try err.write("warning: \(issue)\n") }
                if result.stats.rejectedRows > maxIssues {
                    try err.write("warning: \(path): \(result.stats.rejectedRows - maxIssues) more rejected rows not shown\n")
                }
            } catch {
                failed += 1
                try err.write("error: \(error)\n")
            }
            try err.flush()
        }
        try out.flush()
        try err.write("\(files) files, \(total.rows) rows, \(total.rejectedRows) rejected, \(events) events\(failed > 0 ? ", \(failed) files failed" : "")\n")
        try err.flush()
        if failed > 0 { throw ExitCode(1) }
    }
}
