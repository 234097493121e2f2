import ArgumentParser
import BumpCore
import BumpFiling
import BumpIngest
import BumpStore
import Foundation
import Synchronization

/// Set by SIGTERM/SIGINT; the read loop stops at its next turn.
private let stopRequested = Atomic<Bool>(false)

/// `streetbump stream`: stdin until EOF or a signal, into the same store as `ingest`.
struct Stream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ingest a stream of interleaved trips from stdin (NDJSON, or CSV with a trip column) until EOF or SIGTERM/SIGINT.",
        discussion: """
            stdout carries one JSON object per line: event, event_removed, trip_closed, cluster_created, \
            cluster_updated, cluster_classified, cluster_removed and (with --file) request_filed. An event is \
            announced only once it is committed. Row problems and the summary go to stderr. On EOF or a signal \
            every open trip is closed and committed, and the exit status is 0.
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var filing: FilingOptions

    @Option(help: "Input format: ndjson or csv (csv needs a trip column).")
    var input: TraceFormat = .ndjson

    @Option(help: "Seconds without a row after which a trip is closed (stream time, or wall time when the input is quiet).")
    var idleTimeout = 60.0

    @Option(help: "Lines longer than this many bytes are rejected without being read into memory.")
    var maxLineBytes = 1 << 20

    @Flag(help: "File Open311 requests as pothole clusters qualify (see `streetbump file`).")
    var file = false

    func run() async throws {
        var settings = StreamSettings()
        settings.ingest = try pipeline.settings()
        settings.idleTimeout = idleTimeout
        settings.maxLineBytes = maxLineBytes
        guard idleTimeout > 0, maxLineBytes >= 64 else { throw ValidationError("--idle-timeout must be > 0 and --max-line-bytes at least 64") }
        guard input == .csv || input == .ndjson else {
            throw ValidationError("stream reads ndjson or csv (with a trip column); use ingest for \(input.displayName) recordings")
        }
        let db = try store.open()
        let session = try StreamSession(store: db, format: input, settings: settings)
        var out = ByteWriter.standardOutput()
        var err = ByteWriter.standardError()

        signal(SIGTERM) { _ in stopRequested.store(true, ordering: .relaxed) }
        signal(SIGINT) { _ in stopRequested.store(true, ordering: .relaxed) }
        signal(SIGPIPE, SIG_IGN)

        let logger = Logs.logger("streetbump.stream")
        var background: BackgroundFiling?
        var target: FilingOptions.Target?
        if file {
            let t = try await filing.target(store: db, logger: logger)
            target = t
            background = try BackgroundFiling(filer: try await Filer.connect(store: db, settings: t.settings, logger: logger), store: db)
        }
        var lastFiling = 0.0
        /// Why reading stopped early (not the format at all, or stdin failed): what was read is
        /// still committed and every trip closed, then the exit status is 1.
        var unreadable: (any Error)?

        /// Why stdout stopped taking messages (its reader went away), if it did.
        var outputLost: (any Error)?

        func emit(_ messages: [StreamMessage]) throws {
            let filed = background?.drain() ?? []
            guard outputLost == nil, !messages.isEmpty || !filed.isEmpty else { return }
            do {
                for m in messages { try out.write(m.json + "\n") }
                for line in filed { try out.write(line) }
                try out.flush()
            } catch {
                // The store is what matters: reading, committing and closing trips go on.
                outputLost = error
                out.buffer.removeAll()
                try err.write("warning: \(error); messages are no longer written, the input is still read and stored\n")
                try err.flush()
            }
        }

        // Parsing runs on its own thread, detection and the store on this one: two cores share
        // the work, and a slow store fills the queue, which stops the reading (backpressure).
        let parsed = BoundedQueue<ParsedRows>(capacity: 16)
        let format = input, maxLineBytes = maxLineBytes
        Thread.detachNewThread { Stream.parseStandardInput(format: format, maxLineBytes: maxLineBytes, into: parsed) }
        defer { parsed.cancel() }

        do {
            try emit(try session.recover(now: ProcessInfo.processInfo.systemUptime))
            reading: while true {
                // Wake at least every 200 ms so idle trips close on a quiet input.
                switch parsed.pop(timeout: 0.2) {
                case .item(let rows):
                    do {
                        try emit(try session.apply(rows, now: ProcessInfo.processInfo.systemUptime))
                    } catch let error as TraceReadError {
                        // Not the format at all: keep what was read, then fail.
                        unreadable = error
                        break reading
                    }
                case .timeout:
                    break
                case .closed(let error):
                    unreadable = error
                    break reading
                }
                for issue in session.takeIssues() { try err.write("warning: \(issue)\n") }
                try err.flush()
                try emit(try session.poll(now: ProcessInfo.processInfo.systemUptime))
                if let background, ProcessInfo.processInfo.systemUptime - lastFiling >= 5 {
                    lastFiling = ProcessInfo.processInfo.systemUptime
                    background.kick()
                }
            }
            for issue in session.takeIssues() { try err.write("warning: \(issue)\n") }
            try emit(try session.finish())
            await background?.finish()
            try emit([])
        } catch {
            await target?.stop()
            throw error
        }
        await target?.stop()
        let s = session.stats
        func spread(_ l: LatencyHistogram) -> String {
            "median ≤ \(Int(l.percentile(0.5))) ms, 90% ≤ \(Int(l.percentile(0.9))) ms, max \(Int(l.max)) ms"
        }
        var latency = ""
        if session.latency.count > 0 { latency += "; hit to announcement (stream time): \(spread(session.latency))" }
        if session.potholeLatency.count > 0 { latency += "; potholes: \(spread(session.potholeLatency))" }
        try err.write("stream: \(s.bytes) bytes, \(s.rows) rows (\(s.rejectedRows) rejected)\(latency)\(stopRequested.load(ordering: .relaxed) ? ", stopped by signal" : ""); everything committed\n")
        try err.flush()
        if let unreadable {
            try err.write("error: \(unreadable)\n")
            try err.flush()
            throw ExitCode(1)
        }
        if outputLost != nil { throw ExitCode(1) }
    }

    /// Reads stdin until EOF or a signal and hands it on parsed, in pieces of up to 64 KiB of
    /// input. A signal ends the input: what was read before it is still parsed and handed on.
    private static func parseStandardInput(format: TraceFormat, maxLineBytes: Int, into queue: BoundedQueue<ParsedRows>) {
        var parser = StreamParser(format: format, maxLineBytes: maxLineBytes)
        let capacity = 64 << 10
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var fds = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        while !stopRequested.load(ordering: .relaxed) {
            // Wait at most 200 ms at a time so a signal is seen on a quiet input.
            let ready = poll(&fds, 1, 200)
            if ready < 0 && errno != EINTR {
                queue.close(error: FileError(path: "stdin", message: "poll failed: \(String(cString: strerror(errno)))"))
                return
            }
            guard ready > 0 else { continue }
            let n = read(0, buffer.baseAddress, capacity)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                queue.close(error: FileError(path: "stdin", message: "read failed: \(String(cString: strerror(errno)))"))
                return
            }
            let rows = parser.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            guard queue.push(rows), rows.failure == nil else { return queue.close() }
        }
        queue.push(parser.finish())
        queue.close()
    }
}
