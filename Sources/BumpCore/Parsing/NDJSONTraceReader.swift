/// Streaming reader of traces written as one JSON object per line (NDJSON).
///
/// ```
/// {"trip":"veh-12","t":1717171717123.5,"ax":0.123456,"ay":-9.654321,"az":1.234567}
/// {"trip":"veh-12","t":1717171717200,"lat":42.3601234,"lon":-71.0589876,"speed":12.34}
/// ```
///
/// Keys `t, ax, ay, az, lat, lon, speed, accuracy` take numbers, `null` or are absent;
/// `trip` is required (a string, or a number used as its text), `device` is an optional
/// string. Unknown keys are skipped whatever their value, nested up to 32 levels. Lines of
/// different trips may interleave. The time unit is guessed per trip from its first valid row
/// (see `TimeUnit`). The row rules are those of `CanonicalCSVReader`.
///
/// Bad lines are skipped: counted in `stats.rejectedRows` and described in `issues`. Only
/// input that is not NDJSON text at all (binary, a JSON array) throws.
public struct NDJSONTraceReader: Sendable {
    let source: String
    let maxIssues: Int

    /// Line, row and byte counts so far.
    public private(set) var stats = ReadStats()
    /// The first `maxIssues` rejected rows, in file order (all of them are counted in `stats`).
    public private(set) var issues: [RowIssue] = []

    /// Hands over the issues collected so far and forgets them, so a reader that runs for ever
    /// (a stream) keeps reporting instead of stopping at `maxIssues`.
    public mutating func takeIssues() -> [RowIssue] {
        defer { issues.removeAll(keepingCapacity: true) }
        return issues
    }
    /// Trip names by trip index, in order of first appearance.
    public private(set) var tripNames: [String] = []
    /// The first non-null `device` of each trip, by trip index.
    public private(set) var tripDevices: [String?] = []

    var framer: LineFramer
    /// Time unit of each trip, fixed by its first valid row.
    /// Per trip; nil until a row with a non-zero time decides it (zero is zero in every unit).
    private var tripUnits: [TimeUnit?] = []
    private var tripTable = TripTable()
    private var tripByName: [String: Int] = [:]
    private var firstLineChecked = false
    /// Rows parsed but not yet handed to the sink.
    @usableFromInline var pending: [(row: TraceRow, trip: Int)] = []

    /// Creates a reader.
    /// - Parameters:
    ///   - source: Name of the input used in issues and errors (usually the file name).
    ///   - maxIssues: How many `RowIssue`s to keep; further bad lines are only counted.
    ///   - maxLineBytes: Longer lines are rejected without being buffered.
    public init(source: String, maxIssues: Int = 1000, maxLineBytes: Int = 1 << 20) {
        self.source = source
        self.maxIssues = maxIssues
        self.framer = LineFramer(maxLineBytes: maxLineBytes)
        pending.reserveCapacity(pendingBatchSize)
    }

    /// Feeds the next chunk; lines may span chunks (keep the partial tail in a reusable buffer).
    ///
    /// Valid rows of every complete line in the chunk reach `sink` before this returns.
    /// Throws only when the input is not NDJSON text; the reader must not be used after that.
    @inlinable
    public mutating func consume<S: TraceRowSink>(_ chunk: UnsafeRawBufferPointer, into sink: inout S) throws(TraceReadError) {
        var offset = 0
        repeat {
            offset = try readLines(chunk, from: offset)
            deliverPending(to: &sink)
        } while offset < chunk.count
    }

    /// Flushes a final line without newline.
    @inlinable
    public mutating func finish<S: TraceRowSink>(into sink: inout S) throws(TraceReadError) {
        try readFinalLine()
        deliverPending(to: &sink)
    }

    @inlinable
    mutating func deliverPending<S: TraceRowSink>(to sink: inout S) {
        for entry in pending { sink.accept(entry.row, trip: entry.trip) }
        pending.removeAll(keepingCapacity: true)
    }

    @usableFromInline
    mutating func readLines(_ chunk: UnsafeRawBufferPointer, from start: Int) throws(TraceReadError) -> Int {
        if start == 0 { stats.bytes += chunk.count }
        defer { stats.lines = framer.lineNumber }
        return try frameLines(chunk, from: start)
    }

    @usableFromInline
    mutating func readFinalLine() throws(TraceReadError) {
        try frameFinalLine()
        stats.lines = framer.lineNumber
    }
}

extension NDJSONTraceReader: LineConsumer {
    var isBatchFull: Bool { pending.count >= pendingBatchSize }

    mutating func readLine(_ start: UnsafePointer<UInt8>, _ count: Int) throws(TraceReadError) {
        var p = start
        let end = start + count
        if framer.lineNumber == 1, startsWithBOM(p, end) { p += 3 }
        while p < end, isJSONSpace(p.pointee) { p += 1 }
        guard p < end else { return }  // blank line
        if !firstLineChecked {
            firstLineChecked = true
            try checkFirstLine(p, end)
        }
        do {
            try readObject(p, end)
        } catch {
            reject(error)
        }
    }

    mutating func readOverlongLine() throws(TraceReadError) {
        reject(RowProblem(field: nil, reason: "line longer than \(framer.maxLineBytes) bytes"))
    }

    private mutating func reject(_ problem: RowProblem) {
        stats.rejectedRows += 1
        if issues.count < maxIssues {
            issues.append(RowIssue(source: source, line: framer.lineNumber, field: problem.field, reason: problem.reason))
        }
    }

    /// Catches input that is not NDJSON at all, instead of reporting every line of it.
    private func checkFirstLine(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) throws(TraceReadError) {
        var message = binaryContentProblem(start, end - start)
        if message == nil, start.pointee == UInt8(ascii: "[") {
            message = "a JSON array, not one JSON object per line (NDJSON)"
        }
        if let message { throw TraceReadError(source: source, line: framer.lineNumber, message: message) }
    }

    private mutating func readObject(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) throws(RowProblem) {
        var json = JSONLineScanner(p: start, end: end)
        guard json.peek == UInt8(ascii: "{") else { throw json.syntaxError("expected '{'") }
        json.p += 1
        var row = TraceRow(t: .nan)
        var trip: JSONToken? = nil
        var device: JSONToken? = nil
        json.skipWhitespace()
        if json.peek == UInt8(ascii: "}") {
            json.p += 1
        } else {
            while true {
                guard json.peek == UInt8(ascii: "\"") else { throw json.syntaxError("expected a key in double quotes") }
                let key = try json.scanString()
                json.skipWhitespace()
                guard json.peek == UInt8(ascii: ":") else { throw json.syntaxError("expected ':' after key") }
                json.p += 1
                json.skipWhitespace()
                switch key.traceKey {
                case .t: row.t = try json.numberValue(for: "t")
                case .ax: row.ax = try json.numberValue(for: "ax")
                case .ay: row.ay = try json.numberValue(for: "ay")
                case .az: row.az = try json.numberValue(for: "az")
                case .lat: row.lat = try json.numberValue(for: "lat")
                case .lon: row.lon = try json.numberValue(for: "lon")
                case .speed: row.speed = try json.numberValue(for: "speed")
                case .accuracy: row.accuracy = try json.numberValue(for: "accuracy")
                case .trip: trip = try json.tripValue()
                case .device: device = try json.deviceValue()
                case .other: try json.skipValue(level: 2, key: key)
                }
                json.skipWhitespace()
                if json.peek == UInt8(ascii: ",") {
                    json.p += 1
                    json.skipWhitespace()
                } else if json.peek == UInt8(ascii: "}") {
                    json.p += 1
                    break
                } else {
                    throw json.syntaxError("expected ',' or '}'")
                }
            }
        }
        json.skipWhitespace()
        guard json.p == end else { throw json.syntaxError("text after the object") }

        guard let trip else { throw RowProblem(field: "trip", reason: "missing trip") }
        guard trip.count > 0 else { throw RowProblem(field: "trip", reason: "empty trip name") }
        try checkRowRules(row)
        let tripIndex: Int
        if let known = tripTable.trip(forRaw: trip.start, trip.count) {
            tripIndex = known
        } else {
            tripIndex = addTrip(trip)
        }
        if let device, device.count > 0, tripDevices[tripIndex] == nil {
            tripDevices[tripIndex] = device.text
        }
        if tripUnits[tripIndex] == nil && row.t != 0 { tripUnits[tripIndex] = TimeUnit(guessingFrom: row.t) }
        if let unit = tripUnits[tripIndex] { row.t = unit.milliseconds(row.t) }
        pending.append((row, tripIndex))
        stats.rows += 1
    }

    /// A trip name not seen before in this spelling; its time unit comes from its first non-zero time.
    @inline(never)
    private mutating func addTrip(_ token: JSONToken) -> Int {
        let name = token.text
        let index: Int
        if let known = tripByName[name] {
            index = known  // the same name written with other escapes
        } else {
            index = tripNames.count
            tripNames.append(name)
            tripDevices.append(nil)
            tripUnits.append(nil)
            tripByName[name] = index
        }
        tripTable.insert(raw: token.start, token.count, trip: index)
        return index
    }
}

// MARK: - JSON scanning

/// Deepest nesting of objects and arrays accepted in a line, the line's own object included.
fileprivate let maxJSONNesting = 32

@inline(__always)
fileprivate func isJSONSpace(_ c: UInt8) -> Bool {
    c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") || c == UInt8(ascii: "\n")
}

/// A string's raw content (between the quotes, escapes not decoded) or a number's text.
fileprivate struct JSONToken {
    var start: UnsafePointer<UInt8>
    var count: Int
    var escaped: Bool

    /// The decoded text. Not for the hot path.
    var text: String {
        escaped ? decodeJSONString(start, count) : String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    }

    /// Which trace field a key names.
    @inline(__always)
    var traceKey: TraceKey {
        if escaped {
            var decoded = text
            return decoded.withUTF8 { TraceKey($0) }
        }
        return TraceKey(UnsafeBufferPointer(start: start, count: count))
    }
}

/// The keys the reader knows.
fileprivate enum TraceKey {
    case t, ax, ay, az, lat, lon, speed, accuracy, trip, device, other

    @inline(__always)
    init(_ key: UnsafeBufferPointer<UInt8>) {
        // Dispatch on length first so each known key costs a couple of byte compares.
        func matches(_ name: StaticString) -> Bool {
            let n = name.utf8Start
            for i in 0..<key.count where key[i] != n[i] { return false }
            return true
        }
        switch key.count {
        case 1: self = key[0] == UInt8(ascii: "t") ? .t : .other
        case 2:
            guard key[0] == UInt8(ascii: "a") else { self = .other; return }
            switch key[1] {
            case UInt8(ascii: "x"): self = .ax
            case UInt8(ascii: "y"): self = .ay
            case UInt8(ascii: "z"): self = .az
            default: self = .other
            }
        case 3: self = matches("lat") ? .lat : matches("lon") ? .lon : .other
        case 4: self = matches("trip") ? .trip : .other
        case 5: self = matches("speed") ? .speed : .other
        case 6: self = matches("device") ? .device : .other
        case 8: self = matches("accuracy") ? .accuracy : .other
        default: self = .other
        }
    }
}

/// A cursor over one line of JSON.
fileprivate struct JSONLineScanner {
    var p: UnsafePointer<UInt8>
    let end: UnsafePointer<UInt8>
    let lineStart: UnsafePointer<UInt8>

    init(p: UnsafePointer<UInt8>, end: UnsafePointer<UInt8>) {
        self.p = p
        self.end = end
        self.lineStart = p
    }

    /// The current byte, or 0 at the end of the line (a NUL in the input is invalid anyway).
    @inline(__always)
    var peek: UInt8 { p < end ? p.pointee : 0 }

    @inline(__always)
    mutating func skipWhitespace() {
        while p < end, isJSONSpace(p.pointee) { p += 1 }
    }

    func syntaxError(_ what: String) -> RowProblem {
        let found = p < end ? "'\(textExcerpt(p, end - p, limit: 12))'" : "end of line"
        return RowProblem(field: nil, reason: "invalid JSON at column \(p - lineStart + 1): \(what), found \(found)")
    }

    /// Scans the string starting at the opening quote under `p`; escapes are checked, not decoded.
    @inline(__always)
    mutating func scanString() throws(RowProblem) -> JSONToken {
        p += 1
        let start = p
        var escaped = false
        while true {
            guard p < end else { throw syntaxError("unterminated string") }
            let c = p.pointee
            if c == UInt8(ascii: "\"") { break }
            if c == UInt8(ascii: "\\") {
                escaped = true
                try skipEscape()
            } else if c < 0x20 {
                throw syntaxError("control character in string")
            } else {
                p += 1
            }
        }
        let token = JSONToken(start: start, count: p - start, escaped: escaped)
        p += 1
        return token
    }

    /// Steps over the escape sequence at `p` (which is at the backslash).
    private mutating func skipEscape() throws(RowProblem) {
        guard p + 1 < end else { throw syntaxError("unterminated string") }
        switch p[1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            p += 2
        case UInt8(ascii: "u"):
            guard end - p >= 6, hexValue(p + 2) != nil else { throw syntaxError("\\u needs four hex digits") }
            p += 6
        default:
            throw syntaxError("invalid escape")
        }
    }

    /// Steps over `literal` (true, false, null, NaN) or returns false, leaving `p` alone.
    @inline(__always)
    mutating func skipLiteral(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard end - p >= n else { return false }
        let l = literal.utf8Start
        for i in 0..<n where p[i] != l[i] { return false }
        p += n
        return true
    }

    /// True when a number may end here.
    @inline(__always)
    private func atValueEnd(_ q: UnsafePointer<UInt8>) -> Bool {
        q == end || isJSONSpace(q.pointee) || q.pointee == UInt8(ascii: ",") || q.pointee == UInt8(ascii: "}")
            || q.pointee == UInt8(ascii: "]")
    }

    /// A number or null (NaN) for the trace field `key`.
    @inline(__always)
    mutating func numberValue(for key: String) throws(RowProblem) -> Double {
        let c = peek
        if c &- UInt8(ascii: "0") <= 9 || c == UInt8(ascii: "-") {
            if let (value, after) = scanDecimal(p), !value.isInfinite, atValueEnd(after) {
                p = after
                return value
            }
            throw badNumber(for: key)
        }
        // NaN is not JSON, but Python's json module writes it for missing values.
        if skipLiteral("null") || skipLiteral("NaN") { return .nan }
        if c == UInt8(ascii: "\"") { throw RowProblem(field: key, reason: "expected a number, found a string") }
        throw RowProblem(field: key, reason: "expected a number or null")
    }

    @inline(never)
    private func badNumber(for key: String) -> RowProblem {
        var q = p
        while q < end, !atValueEnd(q) { q += 1 }
        let text = textExcerpt(p, q - p)
        if let value = parseDecimal(p, q - p), value.isInfinite {
            return RowProblem(field: key, reason: "number out of range: '\(text)'")
        }
        return RowProblem(field: key, reason: "not a number: '\(text)'")
    }

    /// The trip name: a string, or a number's text; nil for null.
    mutating func tripValue() throws(RowProblem) -> JSONToken? {
        let c = peek
        if c == UInt8(ascii: "\"") { return try scanString() }
        if c &- UInt8(ascii: "0") <= 9 || c == UInt8(ascii: "-") {
            guard let (_, after) = scanDecimal(p), atValueEnd(after) else { throw badNumber(for: "trip") }
            defer { p = after }
            return JSONToken(start: p, count: after - p, escaped: false)
        }
        if skipLiteral("null") { return nil }
        throw RowProblem(field: "trip", reason: "expected a string or number")
    }

    /// The device name; nil for null.
    mutating func deviceValue() throws(RowProblem) -> JSONToken? {
        if peek == UInt8(ascii: "\"") { return try scanString() }
        if skipLiteral("null") { return nil }
        throw RowProblem(field: "device", reason: "expected a string or null")
    }

    /// Steps over any JSON value; `level` is the nesting level an object or array here would
    /// have. `key` is the line's top-level key, named when nesting goes too deep.
    mutating func skipValue(level: Int, key: JSONToken) throws(RowProblem) {
        let c = peek
        switch c {
        case UInt8(ascii: "\""):
            _ = try scanString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard level <= maxJSONNesting else {
                throw RowProblem(field: key.text, reason: "nested deeper than \(maxJSONNesting) levels")
            }
            let isObject = c == UInt8(ascii: "{")
            let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
            p += 1
            skipWhitespace()
            if peek == close {
                p += 1
                return
            }
            while true {
                if isObject {
                    guard peek == UInt8(ascii: "\"") else { throw syntaxError("expected a key in double quotes") }
                    _ = try scanString()
                    skipWhitespace()
                    guard peek == UInt8(ascii: ":") else { throw syntaxError("expected ':' after key") }
                    p += 1
                    skipWhitespace()
                }
                try skipValue(level: level + 1, key: key)
                skipWhitespace()
                if peek == UInt8(ascii: ",") {
                    p += 1
                    skipWhitespace()
                } else if peek == close {
                    p += 1
                    return
                } else {
                    throw syntaxError(isObject ? "expected ',' or '}'" : "expected ',' or ']'")
                }
            }
        default:
            if c &- UInt8(ascii: "0") <= 9 || c == UInt8(ascii: "-") {
                guard let (_, after) = scanDecimal(p), atValueEnd(after) else { throw syntaxError("invalid number") }
                p = after
            } else if !(skipLiteral("true") || skipLiteral("false") || skipLiteral("null")) {
                throw syntaxError("expected a value")
            }
        }
    }
}

/// The value of four hex digits at `p`, or nil.
@inline(__always)
fileprivate func hexValue(_ p: UnsafePointer<UInt8>) -> UInt32? {
    var value: UInt32 = 0
    for i in 0..<4 {
        let c = p[i]
        let digit: UInt8
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
        default: return nil
        }
        value = value << 4 | UInt32(digit)
    }
    return value
}

/// Decodes the content of a JSON string whose escapes `scanString` has already checked.
/// Surrogate pairs are joined; a lone surrogate becomes U+FFFD.
fileprivate func decodeJSONString(_ start: UnsafePointer<UInt8>, _ count: Int) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    var i = 0
    while i < count {
        let c = start[i]
        guard c == UInt8(ascii: "\\"), i + 1 < count else {
            bytes.append(c)
            i += 1
            continue
        }
        let e = start[i + 1]
        i += 2
        switch e {
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0C)
        case UInt8(ascii: "n"): bytes.append(0x0A)
        case UInt8(ascii: "r"): bytes.append(0x0D)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
            guard i + 4 <= count, var code = hexValue(start + i) else { continue }
            i += 4
            if (0xD800...0xDBFF).contains(code), i + 6 <= count, start[i] == UInt8(ascii: "\\"),
                start[i + 1] == UInt8(ascii: "u"), let low = hexValue(start + i + 2), (0xDC00...0xDFFF).contains(low)
            {
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                i += 6
            }
            let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
            UTF8.encode(scalar) { bytes.append($0) }
        default: bytes.append(e)  // \" \\ \/
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
