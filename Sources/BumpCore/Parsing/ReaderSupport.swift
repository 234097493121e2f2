// Pieces the CSV and NDJSON readers share: the fatal error, line framing across chunks,
// trip-name interning and the row rules.

/// A problem that stops a reader: a missing or unusable header, or input that is not text.
///
/// Bad rows are not errors; they are counted and described in the reader's `issues`.
public struct TraceReadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// File name (or "<stdin>", or an upload id) as given to the reader.
    public var source: String
    /// 1-based line number the problem was found on.
    public var line: Int
    /// What is wrong and what was expected, for the person who has to fix the file.
    public var message: String

    /// Creates an error; readers make these, tests compare against them.
    public init(source: String, line: Int, message: String) {
        self.source = source
        self.line = line
        self.message = message
    }

    /// `source:line: message`, the form compilers use, so editors can jump to it.
    public var description: String { "\(source):\(line): \(message)" }
}

/// Why one row was skipped; becomes a `RowIssue` once the reader adds source and line.
struct RowProblem: Error {
    var field: String?
    var reason: String
}

/// How many rows a reader collects before handing them to the sink.
///
/// Batching keeps the parsing code non-generic (compiled once, in this module) while the
/// small delivery loop is inlined and specialised for the caller's sink.
let pendingBatchSize = 256

// MARK: - Line framing

/// Where a reader is in the stream of lines: the partial line carried between chunks, the
/// line count, and whether it is skipping the rest of an over-long line.
struct LineFramer {
    let maxLineBytes: Int
    /// The start of a line that continues in the next chunk; capacity is kept between lines.
    var carry: [UInt8] = []
    /// True while discarding an over-long line up to its newline.
    var skippingOverlong = false
    /// Number of the line being read (1-based); 0 before the first.
    var lineNumber = 0

    init(maxLineBytes: Int) {
        self.maxLineBytes = max(1, maxLineBytes)
    }
}

/// A reader that takes whole lines from `frameLines`.
protocol LineConsumer {
    var framer: LineFramer { get set }
    /// True when the pending batch must be delivered before more lines are read.
    var isBatchFull: Bool { get }
    /// One complete line without its "\n" (a "\r" before it is still there). The byte at
    /// `start[count]` is always a readable "\n", so number scans stop there on their own.
    mutating func readLine(_ start: UnsafePointer<UInt8>, _ count: Int) throws(TraceReadError)
    /// A line longer than `maxLineBytes`, which was not kept.
    mutating func readOverlongLine() throws(TraceReadError)
    /// Optional fast path: reads whole lines straight from the chunk for as long as they are
    /// plain valid rows, without the framer looking for each newline first (counting each in
    /// `framer.lineNumber`). `end` is just after a "\n". Returns where it stopped, at a line
    /// start; anything unusual is left to `readLine`.
    mutating func readPlainLines(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> UnsafePointer<UInt8>
}

extension LineConsumer {
    mutating func readPlainLines(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> UnsafePointer<UInt8> {
        start
    }

    /// Reads the lines of `chunk` from byte `start` until the chunk ends or the batch fills.
    ///
    /// Returns where to continue: `chunk.count` once the chunk is used up (its unfinished last
    /// line is then in the carry buffer). Only called with an empty batch.
    mutating func frameLines(_ chunk: UnsafeRawBufferPointer, from start: Int) throws(TraceReadError) -> Int {
        guard start < chunk.count, let raw = chunk.baseAddress else { return chunk.count }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let end = base + chunk.count
        var p = base + start

        if framer.skippingOverlong {
            guard let newline = findNewline(p, end) else { return chunk.count }
            framer.skippingOverlong = false
            p = newline + 1
        }
        if !framer.carry.isEmpty {
            // Finish the line that started in an earlier chunk.
            let newline = findNewline(p, end)
            let partEnd = newline ?? end
            if framer.carry.count + (partEnd - p) > framer.maxLineBytes {
                framer.carry.removeAll(keepingCapacity: true)
                framer.lineNumber += 1
                framer.skippingOverlong = newline == nil
                try readOverlongLine()
            } else {
                framer.carry.append(contentsOf: UnsafeBufferPointer(start: p, count: partEnd - p))
                guard newline != nil else { return chunk.count }
                framer.lineNumber += 1
                try readCarriedLine()
            }
            guard let newline else { return chunk.count }
            p = newline + 1
        }
        // Lines up to the chunk's last newline are complete and may be read directly.
        var completeLinesEnd = end
        while completeLinesEnd > p, completeLinesEnd[-1] != UInt8(ascii: "\n") { completeLinesEnd -= 1 }
        while p < end, !isBatchFull {
            if p < completeLinesEnd {
                p = readPlainLines(p, completeLinesEnd)
                if p == end || isBatchFull { break }
            }
            guard let newline = findNewline(p, end) else {
                // Unfinished last line: keep it for the next chunk unless it is already too long.
                if end - p > framer.maxLineBytes {
                    framer.lineNumber += 1
                    framer.skippingOverlong = true
                    try readOverlongLine()
                } else {
                    framer.carry.append(contentsOf: UnsafeBufferPointer(start: p, count: end - p))
                }
                return chunk.count
            }
            framer.lineNumber += 1
            let count = newline - p
            if count > framer.maxLineBytes {
                try readOverlongLine()
            } else {
                try readLine(p, count)
            }
            p = newline + 1
        }
        return p - base
    }

    /// Reads a last line that had no newline. Only called with an empty batch.
    mutating func frameFinalLine() throws(TraceReadError) {
        if framer.skippingOverlong {
            framer.skippingOverlong = false
        } else if !framer.carry.isEmpty {
            framer.lineNumber += 1
            try readCarriedLine()
        }
    }

    /// Reads the line in the carry buffer and empties it, keeping its capacity.
    private mutating func readCarriedLine() throws(TraceReadError) {
        // Swap the buffer out so `readLine` may mutate self while we point into it.
        var line: [UInt8] = []
        swap(&line, &framer.carry)
        line.append(UInt8(ascii: "\n"))  // the terminator readLine may rely on
        defer {
            line.removeAll(keepingCapacity: true)
            swap(&line, &framer.carry)
        }
        try line.withUnsafeBufferPointer { (buffer) throws(TraceReadError) in
            try readLine(buffer.baseAddress!, buffer.count - 1)
        }
    }
}

/// The first "\n" in [start, end), looking at 8 bytes at a time.
@inline(__always)
func findNewline(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> UnsafePointer<UInt8>? {
    var p = start
    while end - p >= 8 {
        // SWAR zero-byte test on word ^ "\n\n\n…": the lowest flagged byte is the first "\n"
        // (false positives only occur above a true match).
        let word = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
        let x = word ^ 0x0A0A_0A0A_0A0A_0A0A
        let found = (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
        if found != 0 { return p + found.trailingZeroBitCount >> 3 }
        p += 8
    }
    while p < end {
        if p.pointee == UInt8(ascii: "\n") { return p }
        p += 1
    }
    return nil
}

/// True when the line starts with the UTF-8 byte order mark.
@inline(__always)
func startsWithBOM(_ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Bool {
    end - p >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF
}

/// Why the first line cannot be text, or nil when it looks like text.
func binaryContentProblem(_ start: UnsafePointer<UInt8>, _ count: Int) -> String? {
    let bytes = UnsafeBufferPointer(start: start, count: count)
    if count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B { return "not a text file (gzip data; decompress it first)" }
    if count >= 2, (bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF) {
        return "not a UTF-8 text file (UTF-16 byte order mark; save it as UTF-8)"
    }
    if bytes.contains(where: { $0 < 0x20 && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\r") }) {
        return "not a text file (control bytes in the first line)"
    }
    // transcode reports whether it met an invalid sequence (String(validating:) would need macOS 15).
    let invalidUTF8 = transcode(bytes.makeIterator(), from: UTF8.self, to: UTF32.self, stoppingOnError: true) { _ in }
    if invalidUTF8 { return "not a text file (invalid UTF-8 in the first line)" }
    return nil
}

// MARK: - Trip interning

/// Maps the raw bytes of trip names to trip indices without creating a String per row.
///
/// Rows of one trip usually follow each other, so the last match is tried first; otherwise
/// an open-addressing table over a flat byte arena is probed. The raw bytes are the name as
/// written (quotes removed, escapes not decoded): the reader decodes and adds a key on a miss.
struct TripTable {
    private var arena: [UInt8] = []
    private var keyStart: [Int] = []
    private var keyCount: [Int] = []
    private var keyTrip: [Int] = []
    /// Key numbers, -1 for empty; the count is a power of two, kept at most half full.
    private var slots = [Int](repeating: -1, count: 16)
    private var lastKey = -1

    /// The trip whose raw name is these bytes, if seen before.
    @inline(__always)
    mutating func trip(forRaw p: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        if lastKey >= 0, keyEquals(lastKey, p, count) { return keyTrip[lastKey] }
        return probe(p, count)
    }

    private mutating func probe(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        let mask = slots.count - 1
        var i = Self.hash(p, count) & mask
        while slots[i] >= 0 {
            let key = slots[i]
            if keyEquals(key, p, count) {
                lastKey = key
                return keyTrip[key]
            }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Records that these raw bytes name `trip`. The bytes must not be known yet.
    mutating func insert(raw p: UnsafePointer<UInt8>, _ count: Int, trip: Int) {
        let key = keyTrip.count
        keyStart.append(arena.count)
        keyCount.append(count)
        keyTrip.append(trip)
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: count))
        if (key + 1) * 2 > slots.count {
            slots = [Int](repeating: -1, count: slots.count * 2)
            for k in 0..<key { place(k) }
        }
        place(key)
        lastKey = key
    }

    private mutating func place(_ key: Int) {
        let mask = slots.count - 1
        var i = arena.withUnsafeBufferPointer { Self.hash($0.baseAddress! + keyStart[key], keyCount[key]) } & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = key
    }

    @inline(__always)
    private func keyEquals(_ key: Int, _ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        guard keyCount[key] == count else { return false }
        return arena.withUnsafeBufferPointer { stored in
            let s = stored.baseAddress! + keyStart[key]
            for i in 0..<count where s[i] != p[i] { return false }
            return true
        }
    }

    /// FNV-1a; names are short, so this is cheap and good enough.
    private static func hash(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<count { h = (h ^ UInt64(p[i])) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h ^ (h >> 32))
    }
}

// MARK: - Row rules

/// The checks every format applies to a parsed row (NaN means absent).
@inline(__always)
func checkRowRules(_ row: TraceRow) throws(RowProblem) {
    if !followsRowRules(row) { throw rowRuleProblem(row) }
}

/// True when the row has a time and a complete acceleration, a valid fix, or both.
@inline(__always)
func followsRowRules(_ row: TraceRow) -> Bool {
    // Few branches for the usual row; `rowRuleProblem` says what is wrong otherwise.
    let accelerationAbsent = row.ax.isNaN
    let fixAbsent = row.lat.isNaN
    let consistent = !row.t.isNaN && row.ay.isNaN == accelerationAbsent && row.az.isNaN == accelerationAbsent
        && row.lon.isNaN == fixAbsent && !(accelerationAbsent && fixAbsent)
    return consistent && (fixAbsent || (row.lat.magnitude <= 90 && row.lon.magnitude <= 180))
}

/// What is wrong with a row that failed `checkRowRules`.
@inline(never)
func rowRuleProblem(_ row: TraceRow) -> RowProblem {
    if row.t.isNaN { return RowProblem(field: "t", reason: "missing time") }
    let hasAcceleration = row.hasAcceleration
    let hasFix = row.hasFix
    if !hasAcceleration, !row.ax.isNaN || !row.ay.isNaN || !row.az.isNaN {
        let missing = row.ax.isNaN ? "ax" : row.ay.isNaN ? "ay" : "az"
        return RowProblem(field: missing, reason: "incomplete acceleration: ax, ay and az must be given together")
    }
    if !hasFix, !row.lat.isNaN || !row.lon.isNaN {
        if row.lon.isNaN { return RowProblem(field: "lon", reason: "latitude without longitude") }
        return RowProblem(field: "lat", reason: "longitude without latitude")
    }
    if hasFix, !(-90...90).contains(row.lat) {
        return RowProblem(field: "lat", reason: "latitude \(row.lat) outside [-90, 90]")
    }
    if hasFix, !(-180...180).contains(row.lon) {
        return RowProblem(field: "lon", reason: "longitude \(row.lon) outside [-180, 180]")
    }
    return RowProblem(field: nil, reason: "row has neither acceleration (ax, ay, az) nor a position (lat, lon)")
}

/// Up to `limit` bytes of a field for a message, with "…" when cut.
func textExcerpt(_ p: UnsafePointer<UInt8>, _ count: Int, limit: Int = 40) -> String {
    let text = String(decoding: UnsafeBufferPointer(start: p, count: min(count, limit)), as: UTF8.self)
    return count > limit ? text + "…" : text
}
