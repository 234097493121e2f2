/// Streaming reader of the canonical CSV trace format.
///
/// ```
/// t,ax,ay,az,lat,lon,speed,accuracy
/// 1717171717123.5,0.123456,-9.654321,1.234567,,,,
/// 1717171717200,,,,42.3601234,-71.0589876,12.34,4.5
/// ```
///
/// Columns may come in any order, `trip` and `device` columns are optional, unknown columns
/// are ignored; header names are trimmed, case-insensitive and may be double-quoted. `t` is
/// required, and so is at least one of the groups (ax, ay, az) and (lat, lon). A row carries
/// a complete accelerometer reading, a fix, or both; empty fields are absent values (NaN).
/// Times are converted to milliseconds, the unit guessed from the first valid row
/// (see `TimeUnit`). A UTF-8 BOM, CRLF line ends, blank lines and a last line without
/// newline are accepted.
///
/// Bad rows are skipped: counted in `stats.rejectedRows` and described in `issues`, and the
/// run goes on. Only an unusable header (or input that is not text) throws.
///
/// Feed the input in chunks of any size with `consume`, then call `finish`. Rows go to the
/// sink in file order, in batches; unsorted or duplicate times are passed through as they are.
public struct CanonicalCSVReader: Sendable {
    let source: String
    let defaultTrip: String
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
    /// The first non-empty `device` of each trip, by trip index.
    public private(set) var tripDevices: [String?] = []

    var framer: LineFramer
    /// Column kinds and names in file order; empty until the header is read.
    private var columns: [CSVColumn] = []
    private var columnNames: [String] = []
    private var headerRead = false
    /// True when the columns are exactly t,ax,ay,az,lat,lon,speed,accuracy: that common
    /// layout gets a straight-line parser, run directly on the chunk (`readPlainLines`).
    private var isCanonicalLayout = false
    private var hasTripColumn = false
    private var hasDeviceColumn = false
    /// Set from the first valid row; `toMilliseconds` holds its factors, nil for milliseconds
    /// (`t × 1 ÷ 1` is `t`, and a division per row costs).
    private var timeUnit: TimeUnit?
    private var toMilliseconds: (multiplier: Double, divisor: Double)?
    private var tripTable = TripTable()
    private var tripByName: [String: Int] = [:]
    /// Rows parsed but not yet handed to the sink.
    @usableFromInline var pending: [(row: TraceRow, trip: Int)] = []

    /// Creates a reader.
    /// - Parameters:
    ///   - source: Name of the input used in issues and errors (usually the file name).
    ///   - defaultTrip: Name of trip 0 when the file has no `trip` column (the caller passes
    ///     the file's base name).
    ///   - maxIssues: How many `RowIssue`s to keep; further bad rows are only counted.
    ///   - maxLineBytes: Longer lines are rejected without being buffered.
    public init(source: String, defaultTrip: String, maxIssues: Int = 1000, maxLineBytes: Int = 1 << 20) {
        self.source = source
        self.defaultTrip = defaultTrip
        self.maxIssues = maxIssues
        self.framer = LineFramer(maxLineBytes: maxLineBytes)
        pending.reserveCapacity(pendingBatchSize)
    }

    /// Feeds the next chunk; lines may span chunks (keep the partial tail in a reusable buffer).
    ///
    /// Valid rows of every complete line in the chunk reach `sink` before this returns.
    /// Throws only for a fatal problem (bad or missing header, not a text file); the reader
    /// must not be used after that.
    @inlinable
    public mutating func consume<S: TraceRowSink>(_ chunk: UnsafeRawBufferPointer, into sink: inout S) throws(TraceReadError) {
        var offset = 0
        repeat {
            offset = try readLines(chunk, from: offset)
            deliverPending(to: &sink)
        } while offset < chunk.count
    }

    /// Flushes a final line without newline.
    ///
    /// Throws when the input had no header line at all.
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
        if !headerRead {
            throw TraceReadError(
                source: source, line: 1, message: "empty file: no header line; expected header \(Self.expectedHeader)")
        }
    }

    static let expectedHeader = "t,ax,ay,az,lat,lon,speed,accuracy"
}

extension CanonicalCSVReader: LineConsumer {
    var isBatchFull: Bool { pending.count >= pendingBatchSize }

    mutating func readLine(_ start: UnsafePointer<UInt8>, _ count: Int) throws(TraceReadError) {
        var p = start
        var end = start + count
        if p < end, end[-1] == UInt8(ascii: "\r") { end -= 1 }
        if framer.lineNumber == 1, startsWithBOM(p, end) { p += 3 }
        guard p < end else { return }  // blank line
        guard headerRead else { return try readHeader(p, end) }
        do {
            try readRow(p, end)
        } catch {
            // A line of only spaces is blank too; checked here so the hot path need not.
            if UnsafeBufferPointer(start: p, count: end - p).allSatisfy(isCSVSpace) { return }
            reject(error)
        }
    }

    mutating func readOverlongLine() throws(TraceReadError) {
        guard headerRead else {
            throw fatal("first line is longer than \(framer.maxLineBytes) bytes; expected header \(Self.expectedHeader)")
        }
        reject(RowProblem(field: nil, reason: "line longer than \(framer.maxLineBytes) bytes"))
    }

    private mutating func reject(_ problem: RowProblem) {
        stats.rejectedRows += 1
        if issues.count < maxIssues {
            issues.append(RowIssue(source: source, line: framer.lineNumber, field: problem.field, reason: problem.reason))
        }
    }

    private func fatal(_ message: String) -> TraceReadError {
        TraceReadError(source: source, line: max(framer.lineNumber, 1), message: message)
    }

    // MARK: Header

    private mutating func readHeader(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) throws(TraceReadError) {
        if let problem = binaryContentProblem(start, end - start) { throw fatal(problem) }
        var names: [String] = []
        var p = start
        while true {
            guard let field = scanCSVField(&p, end) else {
                throw fatal("unterminated quote in header; expected header \(Self.expectedHeader)")
            }
            names.append(field.text)
            if p == end { break }
            p += 1
        }

        var kinds: [CSVColumn] = []
        for name in names {
            let kind = CSVColumn(headerName: name)
            if kind != .ignored, kinds.contains(kind) { throw fatal("duplicate column '\(kind.name)' in header") }
            kinds.append(kind)
        }
        let found = names.joined(separator: ", ")
        if !kinds.contains(.t) {
            let looksLikeData = names.first.map { Double($0) != nil } ?? false
            throw fatal(
                looksLikeData
                    ? "no header line (the first line is data); expected header \(Self.expectedHeader)"
                    : "missing required column 't' (found: \(found)); expected header \(Self.expectedHeader)")
        }
        let hasAccelerationColumns = kinds.contains(.ax) && kinds.contains(.ay) && kinds.contains(.az)
        let hasFixColumns = kinds.contains(.lat) && kinds.contains(.lon)
        if !hasAccelerationColumns, !hasFixColumns {
            throw fatal(
                "need columns ax, ay, az or lat, lon (found: \(found)); expected header \(Self.expectedHeader)")
        }

        columns = kinds
        isCanonicalLayout = kinds == [.t, .ax, .ay, .az, .lat, .lon, .speed, .accuracy]
        columnNames = names
        hasTripColumn = kinds.contains(.trip)
        hasDeviceColumn = kinds.contains(.device)
        if !hasTripColumn {
            tripNames = [defaultTrip]
            tripDevices = [nil]
        }
        headerRead = true
    }

    // MARK: Rows

    private mutating func readRow(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) throws(RowProblem) {
        var trip = CSVField(start: start, count: 0, quoted: false)
        var device = trip
        var row: TraceRow
        if isCanonicalLayout, let (parsed, fieldsEnd) = parseCanonicalRow(start), fieldsEnd == end {
            row = parsed
        } else {
            // Any layout; also finds the exact problem when the fast path gave up.
            row = try parseRow(start, end, trip: &trip, device: &device)
        }
        try checkRowRules(row)

        var tripIndex = 0
        if hasTripColumn {
            guard trip.count > 0 else { throw RowProblem(field: "trip", reason: "missing trip name") }
            if let known = tripTable.trip(forRaw: trip.start, trip.count) {
                tripIndex = known
            } else {
                tripIndex = addTrip(trip)
            }
        }
        if hasDeviceColumn, device.count > 0, tripDevices[tripIndex] == nil {
            tripDevices[tripIndex] = device.text
        }
        accept(row, trip: tripIndex)
    }

    /// Queues a valid row, its time converted to milliseconds.
    @inline(__always)
    private mutating func accept(_ row: TraceRow, trip: Int) {
        // A zero time is zero in every unit, so it decides nothing: a phone's fix stamped 0
        // first in an epoch-millisecond file must not make the file seconds.
        if timeUnit == nil && row.t != 0 {
            let unit = TimeUnit(guessingFrom: row.t)
            timeUnit = unit
            toMilliseconds = unit.millisecondFactors == (1, 1) ? nil : unit.millisecondFactors
        }
        var row = row
        if let f = toMilliseconds { row.t = row.t * f.multiplier / f.divisor }
        pending.append((row, trip))
        stats.rows += 1
    }

    /// The fast path for the usual file: canonical columns, plain numbers, valid rows. Reads
    /// them straight from the chunk; stops at the first line that needs more care.
    mutating func readPlainLines(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> UnsafePointer<UInt8> {
        guard isCanonicalLayout else { return start }
        var p = start
        while p < end, !isBatchFull {
            guard let (row, fieldsEnd) = parseCanonicalRow(p), followsRowRules(row) else { break }
            let lineEnd = fieldsEnd.pointee == UInt8(ascii: "\r") ? fieldsEnd + 1 : fieldsEnd
            guard lineEnd.pointee == UInt8(ascii: "\n"), lineEnd - p <= framer.maxLineBytes else { break }
            framer.lineNumber += 1
            accept(row, trip: 0)
            p = lineEnd + 1
        }
        return p
    }

    /// Parses a row of the canonical layout whose eight fields hold plain numbers or nothing;
    /// returns it with where the last field stopped, or nil for anything unusual.
    ///
    /// Fields end at "," and the line at "\r" or "\n", which also stop every number scan, so
    /// no end pointer is needed. Each field goes straight on from the previous one.
    @inline(__always)
    private func parseCanonicalRow(_ start: UnsafePointer<UInt8>) -> (TraceRow, UnsafePointer<UInt8>)? {
        let comma = UInt8(ascii: ",")
        guard let (t, p1) = scanPlainCSVNumber(start), p1.pointee == comma,
            let (ax, p2) = scanPlainCSVNumber(p1 + 1), p2.pointee == comma,
            let (ay, p3) = scanPlainCSVNumber(p2 + 1), p3.pointee == comma,
            let (az, p4) = scanPlainCSVNumber(p3 + 1), p4.pointee == comma,
            let (lat, p5) = scanPlainCSVNumber(p4 + 1), p5.pointee == comma,
            let (lon, p6) = scanPlainCSVNumber(p5 + 1), p6.pointee == comma,
            let (speed, p7) = scanPlainCSVNumber(p6 + 1), p7.pointee == comma,
            let (accuracy, p8) = scanPlainCSVNumber(p7 + 1)
        else { return nil }
        return (TraceRow(t: t, ax: ax, ay: ay, az: az, lat: lat, lon: lon, speed: speed, accuracy: accuracy), p8)
    }

    /// Parses a row of any layout, throwing the first problem found.
    private func parseRow(
        _ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, trip: inout CSVField, device: inout CSVField
    ) throws(RowProblem) -> TraceRow {
        var row = TraceRow(t: .nan)
        var p = start
        for i in 0..<columns.count {
            if i > 0 {
                // Every field scan stops at a comma or the end of the line.
                guard p < end else { throw fieldCountProblem(start, end) }
                p += 1
            }
            let column = columns[i]
            if column.rawValue < 8 {
                guard let (value, after) = scanCSVNumber(p, end) else {
                    throw numberProblem(column: i, p, start, end)
                }
                p = after
                row.set(column, value)
            } else {
                guard let field = scanCSVField(&p, end) else {
                    throw RowProblem(field: columnNames[i], reason: "unterminated quote")
                }
                if column == .trip { trip = field } else if column == .device { device = field }
            }
        }
        guard p == end else { throw fieldCountProblem(start, end) }
        return row
    }

    /// A trip name not seen before in this spelling.
    @inline(never)
    private mutating func addTrip(_ field: CSVField) -> Int {
        let name = field.text
        let index: Int
        if let known = tripByName[name] {
            index = known
        } else {
            index = tripNames.count
            tripNames.append(name)
            tripDevices.append(nil)
            tripByName[name] = index
        }
        tripTable.insert(raw: field.start, field.count, trip: index)
        return index
    }

    /// Too many or too few fields, counted properly (the fast path stops at the first misfit).
    @inline(never)
    private func fieldCountProblem(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> RowProblem {
        let found = countCSVFields(start, end)
        let what = found > columns.count ? "too many fields" : "too few fields"
        return RowProblem(field: nil, reason: "\(what): expected \(columns.count), found \(found)")
    }

    @inline(never)
    private func numberProblem(
        column: Int, _ fieldStart: UnsafePointer<UInt8>, _ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>
    ) -> RowProblem {
        // A shifted row shows up as a bad number first; the field count is the better message.
        if countCSVFields(start, end) != columns.count { return fieldCountProblem(start, end) }
        let name = columnNames[column]
        var p = fieldStart
        guard let field = scanCSVField(&p, end) else { return RowProblem(field: name, reason: "unterminated quote") }
        let text = textExcerpt(field.start, field.count)
        if let value = parseDecimal(field.start, field.count), value.isInfinite {
            return RowProblem(field: name, reason: "number out of range: '\(text)'")
        }
        return RowProblem(field: name, reason: "not a number: '\(text)'")
    }
}

extension TraceRow {
    /// Stores `value` in the field a numeric column fills.
    fileprivate mutating func set(_ column: CSVColumn, _ value: Double) {
        switch column {
        case .t: t = value
        case .ax: ax = value
        case .ay: ay = value
        case .az: az = value
        case .lat: lat = value
        case .lon: lon = value
        case .speed: speed = value
        default: accuracy = value
        }
    }
}

/// Columns of the canonical CSV format; the first eight are `TraceRow`'s fields, in order.
fileprivate enum CSVColumn: UInt8 {
    case t, ax, ay, az, lat, lon, speed, accuracy, trip, device, ignored

    init(headerName: String) {
        switch headerName.lowercased() {
        case "t": self = .t
        case "ax": self = .ax
        case "ay": self = .ay
        case "az": self = .az
        case "lat": self = .lat
        case "lon": self = .lon
        case "speed": self = .speed
        case "accuracy": self = .accuracy
        case "trip": self = .trip
        case "device": self = .device
        default: self = .ignored
        }
    }

    var name: String { "\(self)" }
}

// MARK: - Field scanning

/// One field's content, surrounding spaces and quotes removed. A quoted field's content may
/// still hold doubled quotes ("") and commas.
fileprivate struct CSVField {
    var start: UnsafePointer<UInt8>
    var count: Int
    var quoted: Bool

    /// The content as a String, doubled quotes undone. Not for the hot path.
    var text: String {
        let raw = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
        return quoted ? raw.replacing("\"\"", with: "\"") : raw
    }
}

@inline(__always)
fileprivate func isCSVSpace(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }

/// Scans the field starting at `p` up to the next comma (outside quotes) or `end`, and
/// leaves `p` there. Nil when a quote is not closed or text follows the closing quote.
@inline(__always)
fileprivate func scanCSVField(_ p: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> CSVField? {
    var q = p
    while q < end, isCSVSpace(q.pointee) { q += 1 }
    if q < end, q.pointee == UInt8(ascii: "\"") { return scanQuotedCSVField(&p, q, end) }
    let start = q
    while q < end, q.pointee != UInt8(ascii: ",") { q += 1 }
    var last = q
    while last > start, isCSVSpace(last[-1]) { last -= 1 }
    p = q
    return CSVField(start: start, count: last - start, quoted: false)
}

@inline(never)
fileprivate func scanQuotedCSVField(
    _ p: inout UnsafePointer<UInt8>, _ quote: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>
) -> CSVField? {
    var q = quote + 1
    while true {
        while q < end, q.pointee != UInt8(ascii: "\"") { q += 1 }
        guard q < end else { return nil }
        if q + 1 < end, q[1] == UInt8(ascii: "\"") {
            q += 2  // "" is a quote inside the field
        } else {
            break
        }
    }
    let field = CSVField(start: quote + 1, count: q - (quote + 1), quoted: true)
    q += 1
    while q < end, isCSVSpace(q.pointee) { q += 1 }
    guard q == end || q.pointee == UInt8(ascii: ",") else { return nil }
    p = q
    return field
}

/// A field that is empty or a plain number, ending at whatever stopped the scan (which the
/// caller checks); nil for anything else. Relies on the "\n" at the end of every line.
@inline(always)
fileprivate func scanPlainCSVNumber(_ p: UnsafePointer<UInt8>) -> (Double, UnsafePointer<UInt8>)? {
    let c = p.pointee
    if c == UInt8(ascii: ",") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") { return (.nan, p) }
    guard let (value, after) = scanDecimal(p), !value.isInfinite else { return nil }
    return (value, after)
}

/// Parses the numeric field at `p`; returns its value and the comma or line end after it.
/// An empty field is NaN; nil means the field is not a (finite) number.
@inline(__always)
fileprivate func scanCSVNumber(_ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> (Double, UnsafePointer<UInt8>)? {
    if p == end || p.pointee == UInt8(ascii: ",") { return (.nan, p) }
    if let (value, after) = scanPlainCSVNumber(p), after == end || after.pointee == UInt8(ascii: ",") {
        return (value, after)
    }
    return scanCSVNumberSlow(p, end)
}

/// Spaces, quoted numbers, `NaN`, and anything the fast scan did not like.
@inline(never)
fileprivate func scanCSVNumberSlow(_ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> (Double, UnsafePointer<UInt8>)? {
    var q = p
    guard var field = scanCSVField(&q, end) else { return nil }
    if field.quoted {
        while field.count > 0, isCSVSpace(field.start.pointee) {
            field.start += 1
            field.count -= 1
        }
        while field.count > 0, isCSVSpace(field.start[field.count - 1]) { field.count -= 1 }
    }
    if field.count == 0 { return (.nan, q) }
    guard let value = parseDecimal(field.start, field.count), !value.isInfinite else { return nil }
    return (value, q)
}

/// Number of fields on a line, quotes respected (falls back to plain commas if they are broken).
fileprivate func countCSVFields(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Int {
    var p = start
    var count = 1
    while true {
        guard scanCSVField(&p, end) != nil else {
            return UnsafeBufferPointer(start: start, count: end - start).count { $0 == UInt8(ascii: ",") } + 1
        }
        if p == end { return count }
        p += 1
        count += 1
    }
}
