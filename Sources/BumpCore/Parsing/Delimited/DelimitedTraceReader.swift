/// Streaming reader of any delimited text trace whose header names its columns: phone-app
/// exports (Sensor Logger, Physics Toolbox, phyphox) and research CSVs read through a column map.
///
/// ```
/// "Time (s)";"Acceleration x (m/s^2)";"Acceleration y (m/s^2)";"Acceleration z (m/s^2)"
/// 0,012;0,1234;-9,7821;0,5543
/// ```
///
/// The `DelimitedLayout` says which header names hold which fields and in what units. Columns
/// are found by name, so their order and any extra columns do not matter. The separator is
/// `,`, `;` or tab (the most frequent one in the header, unless the layout fixes it); with `;`
/// or tab a decimal comma is accepted as well as a point. Header and fields may be quoted.
/// An empty field or `NaN` is an absent value. Times are converted to milliseconds, wall-clock
/// times included (`TimeEncoding`); acceleration is scaled to m/s²; the GPS rules of
/// `FixCleaner` apply (sentinels, negative accuracy, repeated fixes, derived speed).
///
/// Like the canonical reader: bad rows are counted and described in `issues` and skipped; only
/// an unusable header throws. One file is one trip, named `defaultTrip`. Rows go to the sink
/// in file order.
public struct DelimitedTraceReader: Sendable {
    public let layout: DelimitedLayout
    let source: String
    let maxIssues: Int

    /// Line, row and byte counts so far.
    public private(set) var stats = ReadStats()
    /// The first `maxIssues` rejected rows, in file order.
    public private(set) var issues: [RowIssue] = []
    /// The one trip of the file.
    public let tripNames: [String]
    public let tripDevices: [String?] = [nil]
    /// The header's column names as written (quotes removed), once read.
    public private(set) var headerNames: [String] = []
    /// How the reader read what the file left open (a guessed time unit), for the person
    /// checking the result; empty when nothing was guessed.
    public private(set) var notes: [String] = []

    var framer: LineFramer
    private var headerRead = false
    private var separator = UInt8(ascii: ",")
    /// Also accepted as the decimal point: "," when the separator is not a comma.
    private var decimalPoint = UInt8(ascii: ".")
    /// Field index (`TraceField.rawValue`) of each header column; -1 for ignored columns.
    private var roles: [Int8] = []
    /// Index of the last column that is read; later columns are not looked at.
    private var lastUsedColumn = 0
    private var timeUnit: TimeUnit?
    private var toMilliseconds = (multiplier: 1.0, divisor: 1.0)
    /// Rows (times not yet converted) and their lines, held while the unit of relative times
    /// is guessed from their spacing.
    private var undecided: [(row: TraceRow, line: Int)] = []
    /// How many rows of relative times are looked at to guess their unit.
    static let unitGuessRows = 16
    /// For clock times without a date: the day added after the clock passed midnight.
    private var dayOffset = 0.0
    private var lastClock = -Double.infinity
    private var fixes: FixCleaner
    /// Rows parsed but not yet handed to the sink.
    @usableFromInline var pending: [TraceRow] = []

    /// - Parameters:
    ///   - layout: which columns hold what, and the units.
    ///   - source: name of the input in issues and errors.
    ///   - defaultTrip: the trip's name (usually the file's or recording's base name).
    public init(layout: DelimitedLayout, source: String, defaultTrip: String, maxIssues: Int = 1000, maxLineBytes: Int = 1 << 20) {
        self.layout = layout
        self.source = source
        self.tripNames = [defaultTrip]
        self.maxIssues = maxIssues
        self.framer = LineFramer(maxLineBytes: maxLineBytes)
        self.fixes = FixCleaner(missing: layout.missing, dropsRepeats: layout.repeatsFixes)
        pending.reserveCapacity(pendingBatchSize)
    }

    /// Feeds the next chunk; lines may span chunks. Throws only for a fatal header problem.
    @inlinable
    public mutating func consume<S: TraceRowSink>(_ chunk: UnsafeRawBufferPointer, into sink: inout S) throws(TraceReadError) {
        var offset = 0
        repeat {
            offset = try readLines(chunk, from: offset)
            deliverPending(to: &sink)
        } while offset < chunk.count
    }

    /// Reads a last line without newline. Throws when the input had no header line.
    @inlinable
    public mutating func finish<S: TraceRowSink>(into sink: inout S) throws(TraceReadError) {
        try readFinalLine()
        deliverPending(to: &sink)
    }

    /// Hands over the issues collected so far and forgets them.
    public mutating func takeIssues() -> [RowIssue] {
        defer { issues.removeAll(keepingCapacity: true) }
        return issues
    }

    @inlinable
    mutating func deliverPending<S: TraceRowSink>(to sink: inout S) {
        for row in pending { sink.accept(row, trip: 0) }
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
        if !undecided.isEmpty { decideTimeUnit() }
        stats.lines = framer.lineNumber
        if !headerRead {
            throw TraceReadError(source: source, line: 1, message: "empty file: no header line; expected \(expectedHeader)")
        }
    }

    private var expectedHeader: String {
        "a \(layout.formatName) header with columns " + TraceField.allCases.compactMap { layout.columns[$0] }.joined(separator: ", ")
    }
}

extension DelimitedTraceReader: LineConsumer {
    var isBatchFull: Bool { pending.count >= pendingBatchSize }

    mutating func readLine(_ start: UnsafePointer<UInt8>, _ count: Int) throws(TraceReadError) {
        var p = start
        var end = start + count
        if p < end, end[-1] == UInt8(ascii: "\r") { end -= 1 }
        if framer.lineNumber == 1, startsWithBOM(p, end) { p += 3 }
        guard p < end else { return }
        guard headerRead else { return try readHeader(p, end) }
        do {
            try readRow(p, end)
        } catch {
            if UnsafeBufferPointer(start: p, count: end - p).allSatisfy({ $0 == UInt8(ascii: " ") || $0 == separator }) { return }
            reject(error)
        }
    }

    mutating func readOverlongLine() throws(TraceReadError) {
        guard headerRead else {
            throw TraceReadError(source: source, line: framer.lineNumber, message: "first line is longer than \(framer.maxLineBytes) bytes; expected \(expectedHeader)")
        }
        reject(RowProblem(field: nil, reason: "line longer than \(framer.maxLineBytes) bytes"))
    }

    private mutating func reject(_ problem: RowProblem, line: Int? = nil) {
        stats.rejectedRows += 1
        if issues.count < maxIssues {
            issues.append(RowIssue(source: source, line: line ?? framer.lineNumber, field: problem.field, reason: problem.reason))
        }
    }

    // MARK: Header

    private mutating func readHeader(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) throws(TraceReadError) {
        if let problem = binaryContentProblem(start, end - start) {
            throw TraceReadError(source: source, line: framer.lineNumber, message: problem)
        }
        separator = layout.separator ?? guessSeparator(start, end)
        decimalPoint = separator == UInt8(ascii: ",") ? UInt8(ascii: ".") : UInt8(ascii: ",")
        guard let names = splitHeader(start, end, separator: separator) else {
            throw TraceReadError(source: source, line: framer.lineNumber, message: "unterminated quote in header; expected \(expectedHeader)")
        }
        headerNames = names
        let normalized = names.map(normalizedHeaderName)
        var roles = [Int8](repeating: -1, count: names.count)
        for field in TraceField.allCases {
            guard let wanted = layout.columns[field] else { continue }
            guard let index = normalized.firstIndex(of: normalizedHeaderName(wanted)) else {
                throw TraceReadError(
                    source: source, line: framer.lineNumber,
                    message: "column '\(wanted)' (for \(field.name)) is not in the header; the header has: \(names.joined(separator: ", "))")
            }
            roles[index] = Int8(field.rawValue)
        }
        self.roles = roles
        lastUsedColumn = roles.lastIndex { $0 >= 0 } ?? 0
        headerRead = true
    }

    // MARK: Rows

    private mutating func readRow(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) throws(RowProblem) {
        var row = TraceRow(t: .nan)
        var p = start
        var column = 0
        while true {
            let role = roles[column]
            if role < 0 {
                try skipField(&p, end, column: column)
            } else if role == 0, layout.time == .clock {
                row.t = try clockTime(&p, end, column: column)
            } else {
                guard let (value, after) = scanNumber(p, end) else { throw numberProblem(column: column, p, end) }
                p = after
                row.set(Int(role), value)
            }
            if column == lastUsedColumn { break }
            guard p < end else {
                throw RowProblem(field: nil, reason: "too few fields: expected at least \(lastUsedColumn + 1), found \(column + 1)")
            }
            p += 1
            column += 1
        }
        if timeUnit == nil, !row.t.isNaN, layout.time != .clock {
            if case .number(let fixed?) = layout.time {
                setTimeUnit(fixed)
            } else if row.t.magnitude >= 1e11 {
                // Epoch times: the magnitude tells the unit (see `TimeUnit`). Rows held before
                // (a time of 0 says nothing) go on first, in this unit.
                setTimeUnit(TimeUnit(guessingFrom: row.t))
                acceptHeld()
            } else {
                // Times since the start: seconds or milliseconds, told apart by their spacing.
                undecided.append((row, framer.lineNumber))
                if undecided.count >= Self.unitGuessRows { decideTimeUnit() }
                return
            }
        }
        try accept(row)
    }

    /// Converts the time, scales the acceleration, cleans the fix and keeps the row.
    private mutating func accept(_ parsed: TraceRow) throws(RowProblem) {
        var row = parsed
        // Times first: the cleaner derives speeds from them.
        if !row.t.isNaN {
            if layout.time == .clock {
                row.t += layout.timeOffset
            } else {
                row.t = row.t * toMilliseconds.multiplier / toMilliseconds.divisor + layout.timeOffset
                // 1e306 s is a finite number but no time in ms: it would push every later row out as late.
                guard row.t.isFinite else {
                    throw RowProblem(field: timeColumnName, reason: "time \(parsed.t) is out of range once converted to milliseconds")
                }
            }
        }
        let scale = layout.accelerationScale
        row.ax *= scale
        row.ay *= scale
        row.az *= scale
        guard fixes.clean(&row) else { return }
        try checkRowRules(row)
        pending.append(row)
        stats.rows += 1
    }

    private mutating func setTimeUnit(_ unit: TimeUnit) {
        timeUnit = unit
        toMilliseconds = unit.millisecondFactors
    }

    /// Guesses the unit of relative times from the rows held so far, then reads them: sensors
    /// sample every 1 to 1000 ms, so a typical step of 2 or more is milliseconds (10 for
    /// 100 Hz) and one below is seconds (0.01 for 100 Hz, 1 for a fix a second). Says so in
    /// `notes`, since `--time-unit` settles it.
    private mutating func decideTimeUnit() {
        let times = undecided.map(\.row.t)
        var steps = zip(times.dropFirst(), times).map { $0 - $1 }.filter { $0 > 0 }
        steps.sort()
        let typical = steps.isEmpty ? 0 : steps[steps.count / 2]
        let unit: TimeUnit = typical >= 2 ? .milliseconds : .seconds
        setTimeUnit(unit)
        notes.append("times since the start read as \(unit == .milliseconds ? "milliseconds" : "seconds") (guessed from their spacing; --time-unit sets it)")
        acceptHeld()
    }

    /// Reads the rows held while the time unit was open, in their order.
    private mutating func acceptHeld() {
        let held = undecided
        undecided.removeAll()
        for (row, line) in held {
            do {
                try accept(row)
            } catch {
                reject(error, line: line)
            }
        }
    }

    private var timeColumnName: String {
        roles.firstIndex(of: 0).map { headerNames[$0] } ?? layout.columns[.t] ?? "t"
    }

    /// Moves past a column that is not read, quotes honoured (a quoted field may hold the separator).
    @inline(__always)
    private func skipField(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, column: Int) throws(RowProblem) {
        var q = p
        while q < end, q.pointee == UInt8(ascii: " ") { q += 1 }
        if q < end, q.pointee == UInt8(ascii: "\"") {
            guard scanDelimitedField(&p, end, separator: separator) != nil else {
                throw RowProblem(field: headerNames[column], reason: "unterminated quote")
            }
            return
        }
        while q < end, q.pointee != separator { q += 1 }
        p = q
    }

    /// A number field (empty or NaN: absent), ending at the separator or the line's end.
    @inline(__always)
    private func scanNumber(_ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> (Double, UnsafePointer<UInt8>)? {
        if p == end || p.pointee == separator { return (.nan, p) }
        if let (value, after) = scanDecimal(p, decimalPoint: decimalPoint), after == end || after.pointee == separator,
            value.isFinite
        {
            return (value, after)
        }
        return scanNumberSlow(p, end)
    }

    /// Spaces, quotes, `NaN`, and anything the fast scan did not like.
    @inline(never)
    private func scanNumberSlow(_ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> (Double, UnsafePointer<UInt8>)? {
        var q = p
        guard let field = scanDelimitedField(&q, end, separator: separator) else { return nil }
        let (s, n) = field.trimmed
        if n == 0 { return (.nan, q) }
        // A quoted field cannot be split by the separator, so "0,123" is a decimal comma even in a comma-separated file.
        guard let value = parseNumberText(s, n, decimalComma: decimalPoint == UInt8(ascii: ",") || field.quoted), !value.isInfinite else { return nil }
        return (value, q)
    }

    private func parseNumberText(_ p: UnsafePointer<UInt8>, _ count: Int, decimalComma: Bool) -> Double? {
        if let value = parseDecimal(p, count) { return value }
        guard decimalComma else { return nil }
        let dotted = UnsafeBufferPointer(start: p, count: count).map { $0 == UInt8(ascii: ",") ? UInt8(ascii: ".") : $0 }
        return dotted.withUnsafeBufferPointer { parseDecimal($0.baseAddress!, $0.count) }
    }

    /// A wall-clock time field, in milliseconds (epoch when it has a date, else since the
    /// first midnight of the recording: a clock that jumps back by more than 12 hours has
    /// passed midnight).
    private mutating func clockTime(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, column: Int) throws(RowProblem) -> Double {
        guard let field = scanDelimitedField(&p, end, separator: separator) else {
            throw RowProblem(field: headerNames[column], reason: "unterminated quote")
        }
        let (s, n) = field.trimmed
        if n == 0 { return .nan }
        guard let parsed = parseClockTime(s, n) else {
            throw RowProblem(field: headerNames[column], reason: "not a time of day (HH:MM:SS.fff): '\(textExcerpt(s, n))'")
        }
        if parsed.hasDate { return parsed.milliseconds }
        var t = parsed.milliseconds + dayOffset
        if t < lastClock - 43_200_000 {
            dayOffset += 86_400_000
            t += 86_400_000
        }
        lastClock = t
        return t
    }

    @inline(never)
    private func numberProblem(column: Int, _ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> RowProblem {
        var q = p
        let name = headerNames[column]
        guard let field = scanDelimitedField(&q, end, separator: separator) else { return RowProblem(field: name, reason: "unterminated quote") }
        let (s, n) = field.trimmed
        return RowProblem(field: name, reason: "not a number: '\(textExcerpt(s, n))'")
    }
}

extension TraceRow {
    /// Stores `value` in the field with this `TraceField` raw value.
    @inline(__always)
    mutating func set(_ field: Int, _ value: Double) {
        switch field {
        case 0: t = value
        case 1: ax = value
        case 2: ay = value
        case 3: az = value
        case 4: lat = value
        case 5: lon = value
        case 6: speed = value
        default: accuracy = value
        }
    }
}

// MARK: - Fields

/// A field's bytes (quotes not yet removed when `quoted`).
struct DelimitedField {
    var start: UnsafePointer<UInt8>
    var count: Int
    var quoted: Bool

    /// The content without surrounding spaces.
    var trimmed: (UnsafePointer<UInt8>, Int) {
        var s = start, n = count
        while n > 0, s.pointee == UInt8(ascii: " ") || s.pointee == UInt8(ascii: "\t") {
            s += 1
            n -= 1
        }
        while n > 0, s[n - 1] == UInt8(ascii: " ") || s[n - 1] == UInt8(ascii: "\t") { n -= 1 }
        return (s, n)
    }

    var text: String {
        let raw = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
        return quoted ? raw.replacing("\"\"", with: "\"") : raw
    }
}

/// Scans the field at `p` up to the next separator outside quotes (or `end`) and leaves `p` on
/// it. A quoted field's content excludes the quotes. Nil when a quote is not closed.
func scanDelimitedField(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, separator: UInt8) -> DelimitedField? {
    var q = p
    while q < end, q.pointee == UInt8(ascii: " ") { q += 1 }
    if q < end, q.pointee == UInt8(ascii: "\"") {
        let open = q + 1
        q = open
        while true {
            while q < end, q.pointee != UInt8(ascii: "\"") { q += 1 }
            guard q < end else { return nil }
            if q + 1 < end, q[1] == UInt8(ascii: "\"") { q += 2 } else { break }
        }
        let field = DelimitedField(start: open, count: q - open, quoted: true)
        q += 1
        while q < end, q.pointee != separator { q += 1 }  // tolerate spaces after the quote
        p = q
        return field
    }
    let start = p
    while q < end, q.pointee != separator { q += 1 }
    p = q
    return DelimitedField(start: start, count: q - start, quoted: false)
}

/// The header's names, unquoted; nil when a quote is not closed.
func splitHeader(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, separator: UInt8) -> [String]? {
    var names: [String] = []
    var p = start
    while true {
        guard let field = scanDelimitedField(&p, end, separator: separator) else { return nil }
        let (s, n) = field.trimmed
        let text = String(decoding: UnsafeBufferPointer(start: s, count: n), as: UTF8.self)
        names.append(field.quoted ? text.replacing("\"\"", with: "\"") : text)
        if p >= end { return names }
        p += 1
    }
}

/// The fields of one line of text, unquoted; nil when a quote is not closed.
func splitHeader(_ line: String, separator: UInt8) -> [String]? {
    let bytes = Array(line.utf8)
    return bytes.withUnsafeBufferPointer { b in
        guard let base = b.baseAddress else { return [""] }
        return splitHeader(base, base + b.count, separator: separator)
    }
}

/// The separator of a header line: the most frequent of `,` `;` tab outside quotes (`,` on a tie
/// or when there is none).
func guessSeparator(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> UInt8 {
    var counts = (comma: 0, semicolon: 0, tab: 0)
    var quoted = false
    var p = start
    while p < end {
        switch p.pointee {
        case UInt8(ascii: "\""): quoted.toggle()
        case UInt8(ascii: ",") where !quoted: counts.comma += 1
        case UInt8(ascii: ";") where !quoted: counts.semicolon += 1
        case UInt8(ascii: "\t") where !quoted: counts.tab += 1
        default: break
        }
        p += 1
    }
    if counts.semicolon > counts.comma, counts.semicolon >= counts.tab { return UInt8(ascii: ";") }
    if counts.tab > counts.comma, counts.tab > counts.semicolon { return UInt8(ascii: "\t") }
    return UInt8(ascii: ",")
}

/// A header name as compared: trimmed, unquoted, lower-case.
func normalizedHeaderName(_ name: String) -> String {
    var s = Substring(name)
    while let c = s.first, c == " " || c == "\"" || c == "\t" { s = s.dropFirst() }
    while let c = s.last, c == " " || c == "\"" || c == "\t" { s = s.dropLast() }
    return s.lowercased()
}
