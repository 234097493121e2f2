import BumpCore
import BumpIngest

/// Which inputs a command given files and folders should read.
enum TraceFiles {
    /// The inputs for `paths` (see `TraceInputs.find`), and the files found in folders that are
    /// not traces (truth.csv, notes) or that an export does not use, each with the reason, so a
    /// folder's other files do not fail the batch and none is dropped silently. Named files are always kept: if they cannot be read, the reader says why.
    static func inputs(_ paths: [String], options: ReadOptions) throws -> (inputs: [TraceInput], skipped: [(path: String, reason: String)]) {
        var inputs: [TraceInput] = []
        var skipped: [(path: String, reason: String)] = []
        for (input, fromFolder) in try TraceInputs.find(paths) {
            if case .leftOut(let reason) = input.kind {
                skipped.append((input.path, reason))
            } else if fromFolder, case .file(let path) = input.kind, let reason = notATrace(path, options: options) {
                skipped.append((path, reason))
            } else {
                inputs.append(input)
            }
        }
        return (inputs, skipped)
    }

    /// Why a file found in a folder is not read, or nil when it looks like a trace.
    static func notATrace(_ path: String, options: ReadOptions) -> String? {
        let head = TraceInputs.head(of: path)
        if let layout = options.layout {
            let names = Set(head.withUnsafeBytes { TraceRecognizer.headerNames($0) }.map { $0.lowercased() })
            let lacking = layout.columns.values.filter { !names.contains($0.lowercased()) }
            return lacking.isEmpty ? nil : "not a trace for the column map (no column \(lacking.sorted().joined(separator: ", ")))"
        }
        if case .unknown = head.withUnsafeBytes({ TraceRecognizer.recognize(name: path, head: $0, forcing: options.format) }) {
            return "not a trace (no t and ax,ay,az or lat,lon columns, nor a phone app's header)"
        }
        return nil
    }

    /// A warning for samples detection had to drop, or nil: later than its 250 ms reordering
    /// window allows (an unsorted file loses whole stretches that way), repeating a time, or
    /// alone far ahead of the rest of the trip.
    static func droppedSamples(_ stats: [TripStats], path: String) -> String? {
        let late = stats.reduce(0) { $0 + $1.lateSamples }, repeated = stats.reduce(0) { $0 + $1.duplicateSamples }
        let stranded = stats.reduce(0) { $0 + $1.strandedSamples }
        guard late + repeated + stranded > 0 else { return nil }
        var parts: [String] = []
        if stranded > 0 { parts.append("\(stranded) samples more than a minute ahead of the rest of their trip (a wrong clock?)") }
        if late > 0 { parts.append("\(late) samples more than 250 ms out of time order (is the file sorted by time?)") }
        if repeated > 0 { parts.append("\(repeated) samples repeating an earlier time") }
        return "warning: \(path): dropped " + parts.joined(separator: " and ") + "\n"
    }

    /// "sensorlogger (iOS; …)" for the per-input report.
    static func describe(_ outcome: ReadOutcome) -> String {
        outcome.format.rawValue + (outcome.detail.isEmpty ? "" : " (\(outcome.detail))")
    }
}
