import BumpCore

/// One uploaded trace, read and detected as its bytes arrive (gzip or not): the upload door
/// into the same pipeline as files.
public final class TraceUpload {
    private var intake: TraceIntake<TraceRecorder>
    private var gunzip: Gunzip?
    private let limits: UploadLimits
    private let gzip: Bool?
    private var raw = 0
    private var started = false

    /// - Parameter name: the trip of rows without a trip column.
    /// - Parameter gzip: true or false when the request says so, nil to recognise it by its first bytes.
    public init(name: String, format: TraceFormat?, gzip: Bool?, limits: UploadLimits, detector: DetectorConfig) {
        intake = TraceIntake(sink: TraceRecorder(config: detector), source: "upload", name: "upload", defaultTrip: name, format: format)
        self.limits = limits
        self.gzip = gzip
    }

    public func consume(_ chunk: UnsafeRawBufferPointer) throws {
        raw += chunk.count
        if raw > limits.maxBytes { throw UploadError(status: 413, "the body exceeds \(limits.maxBytes) bytes") }
        if !started, chunk.count > 0 {
            started = true
            let magic = chunk.count >= 2 && chunk[0] == 0x1F && chunk[1] == 0x8B
            if gzip ?? magic { gunzip = try Gunzip(limits: limits) }
        }
        if let gunzip {
            try gunzip.decompress(chunk) { try intake.consume($0) }
        } else {
            try intake.consume(chunk)
        }
        if intake.tripNames.count > limits.maxTrips {
            throw UploadError(status: 413, "more than \(limits.maxTrips) trips in one upload; send them in several")
        }
    }

    /// Ends the body and returns what was detected.
    public func finish() throws -> DetectedTrace {
        try gunzip?.finish()
        let outcome: ReadOutcome
        do {
            outcome = try intake.finish()
        } catch let e as FileError {
            throw UploadError(status: 400, e.message)
        }
        return DetectedTrace.finished(intake.sink, outcome)
    }
}
