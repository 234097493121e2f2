/// Streaming reader of the track points of a GPX file, as fix-only rows.
///
/// ```
/// <trkpt lat="42.3601234" lon="-71.0589876"><ele>12.1</ele><time>2026-05-28T20:26:40.5Z</time><speed>12.3</speed></trkpt>
/// ```
///
/// Reads every `<trkpt>` (of all tracks and segments, in file order): `lat` and `lon`
/// attributes, `<time>` (ISO 8601, required), and a speed in m/s from `<speed>` or an
/// extension element ending in `:speed` (Garmin's `gpxtpx:speed`); other elements are ignored.
/// A point without a speed gets the speed of travel from the point before (`FixCleaner`).
/// GPX has no accelerometer readings: a GPX track is joined by time to an accelerometer file.
///
/// A point that cannot be read is counted and described in `issues`, with the line it starts
/// on. Memory stays bounded: only the point being read is kept between chunks.
public struct GPXTrackReader: Sendable {
    let source: String
    let maxIssues: Int
    let maxElementBytes: Int

    public private(set) var stats = ReadStats()
    public private(set) var issues: [RowIssue] = []
    public let tripNames: [String]
    public let tripDevices: [String?] = [nil]

    /// Bytes not yet used: the start of a point that continues in the next chunk.
    private var carry: [UInt8] = []
    /// Line number at the start of `carry`.
    private var carryLine = 1
    /// When `carry` starts with a point whose end was not found yet: where its start tag ends
    /// (if found) and how many of its bytes were searched, so the next chunk resumes there
    /// instead of searching the point from its start again.
    private var pendingTagEnd: Int?
    private var pendingSearched = 0
    private var lastByte: UInt8 = 0
    private var sawGPX = false
    private var fixes = FixCleaner(missing: [], dropsRepeats: false)
    private var pending: [TraceRow] = []

    public init(source: String, defaultTrip: String, maxIssues: Int = 1000, maxElementBytes: Int = 1 << 16) {
        self.source = source
        self.tripNames = [defaultTrip]
        self.maxIssues = maxIssues
        self.maxElementBytes = maxElementBytes
    }

    /// Bytes held between chunks (at most a point of `maxElementBytes` and one chunk).
    var bufferedBytes: Int { carry.count }

    /// Feeds the next chunk of the file.
    public mutating func consume<S: TraceRowSink>(_ chunk: UnsafeRawBufferPointer, into sink: inout S) throws(TraceReadError) {
        stats.bytes += chunk.count
        if stats.bytes == chunk.count, let problem = chunk.withMemoryRebound(to: UInt8.self, { bytes -> String? in
            // The first line only: an XML file has newlines and tabs further on.
            let line = bytes.prefix { $0 != UInt8(ascii: "\n") }
            return line.isEmpty ? nil : binaryContentProblem(bytes.baseAddress!, line.count)
        }) {
            throw TraceReadError(source: source, line: 1, message: problem)
        }
        if let last = chunk.last { lastByte = last }
        carry.append(contentsOf: chunk)
        scanPoints()
        for row in pending { sink.accept(row, trip: 0) }
        pending.removeAll(keepingCapacity: true)
    }

    /// Ends the file. Throws when it was not GPX at all.
    public mutating func finish<S: TraceRowSink>(into sink: inout S) throws(TraceReadError) {
        if !sawGPX {
            throw TraceReadError(source: source, line: 1, message: "not a GPX file: no <gpx> element; expected a GPX 1.0 or 1.1 track")
        }
        if let start = find(Self.pointOpen, in: carry, from: 0) {
            reject(line: carryLine + newlines(carry, 0, start), "track point not closed before the end of the file")
        }
        // A newline ends the last line rather than starting another.
        stats.lines = stats.bytes == 0 ? 0 : carryLine + newlines(carry, 0, carry.count) - (lastByte == UInt8(ascii: "\n") ? 1 : 0)
        carry.removeAll()
        for row in pending { sink.accept(row, trip: 0) }
        pending.removeAll()
    }

    /// Hands over the issues collected so far and forgets them.
    public mutating func takeIssues() -> [RowIssue] {
        defer { issues.removeAll(keepingCapacity: true) }
        return issues
    }

    private static let pointOpen = Array("<trkpt".utf8)
    private static let pointClose = Array("</trkpt>".utf8)

    private mutating func scanPoints() {
        if !sawGPX, find(Array("<gpx".utf8), in: carry, from: 0) != nil { sawGPX = true }
        var consumed = 0
        // Lines are counted as the scan moves on, never from the start again.
        var countedTo = 0
        var line = carryLine
        // The point at carry[0] was searched up to here in earlier chunks.
        var resumeTagEnd = pendingTagEnd
        var resumeSearched = pendingSearched
        pendingTagEnd = nil
        pendingSearched = 0
        var incomplete: (start: Int, tagEnd: Int?)?
        while let start = find(Self.pointOpen, in: carry, from: consumed) {
            line += newlines(carry, countedTo, start)
            countedTo = start
            let resuming = start == 0 && (resumeTagEnd != nil || resumeSearched > 0)
            let searchedFrom = resuming ? resumeSearched : 0
            let knownTagEnd = resuming ? resumeTagEnd : nil
            resumeTagEnd = nil
            resumeSearched = 0
            // `<trkpt .../>` has no children (so no time) but must still be skipped.
            guard let tagEnd = knownTagEnd ?? carry[(start + max(searchedFrom, Self.pointOpen.count))...].firstIndex(of: UInt8(ascii: ">")) else {
                if carry.count - start > maxElementBytes {
                    reject(line: line, "track point longer than \(maxElementBytes) bytes")
                    consumed = start + Self.pointOpen.count
                    continue
                }
                incomplete = (start, nil)
                break
            }
            let end: Int
            if carry[tagEnd - 1] == UInt8(ascii: "/") {
                end = tagEnd + 1
            } else if let close = find(Self.pointClose, in: carry, from: max(tagEnd, start + searchedFrom - (Self.pointClose.count - 1))) {
                end = close + Self.pointClose.count
            } else {
                if carry.count - start > maxElementBytes {
                    reject(line: line, "track point longer than \(maxElementBytes) bytes")
                    consumed = tagEnd + 1
                    continue
                }
                incomplete = (start, tagEnd)
                break
            }
            carry.withUnsafeBufferPointer { readPoint($0.baseAddress! + start, end - start, line: line) }
            consumed = end
        }
        if let (start, tagEnd) = incomplete {
            // Keep the point from its start, and where its search got to.
            consumed = start
            pendingTagEnd = tagEnd.map { $0 - start }
            pendingSearched = carry.count - start
        } else {
            // No point starts after `consumed`: keep only a tail that could be the start of "<trkpt" or "<gpx".
            consumed = max(consumed, carry.count - 16)
        }
        if consumed > 0 {
            // The scan may have looked past `consumed` at a point that is not complete yet.
            carryLine = countedTo <= consumed
                ? line + newlines(carry, countedTo, consumed) : line - newlines(carry, consumed, countedTo)
            carry.removeFirst(consumed)
        }
        stats.lines = carryLine
    }

    private mutating func readPoint(_ p: UnsafePointer<UInt8>, _ count: Int, line: Int) {
        let element = UnsafeBufferPointer(start: p, count: count)
        guard let lat = attribute("lat", element), let lon = attribute("lon", element) else {
            return reject(line: line, field: "lat", "track point without numeric lat and lon attributes")
        }
        guard let timeText = elementText("time", element) else {
            return reject(line: line, field: "time", "track point without <time>: it cannot be joined to acceleration")
        }
        guard let time = parseClockTime(timeText.baseAddress!, timeText.count), time.hasDate else {
            return reject(line: line, field: "time", "not an ISO 8601 time: '\(textExcerpt(timeText.baseAddress!, timeText.count))'")
        }
        guard time.milliseconds.isFinite else {
            return reject(line: line, field: "time", "time out of range: '\(textExcerpt(timeText.baseAddress!, timeText.count))'")
        }
        var row = TraceRow(t: time.milliseconds, lat: lat, lon: lon)
        if let speedText = elementText("speed", element), let speed = parseDecimal(speedText.baseAddress!, speedText.count) {
            row.speed = speed
        }
        guard fixes.clean(&row) else { return }
        guard followsRowRules(row) else { return reject(line: line, field: rowRuleProblem(row).field, rowRuleProblem(row).reason) }
        pending.append(row)
        stats.rows += 1
    }

    private mutating func reject(line: Int, field: String? = nil, _ reason: String) {
        stats.rejectedRows += 1
        if issues.count < maxIssues { issues.append(RowIssue(source: source, line: line, field: field, reason: reason)) }
    }
}

/// The numeric value of attribute `name` in the element's start tag; XML allows whitespace
/// (newlines too) before the name and around the `=`.
private func attribute(_ name: String, _ element: UnsafeBufferPointer<UInt8>) -> Double? {
    let tagEnd = element.firstIndex(of: UInt8(ascii: ">")) ?? element.count
    let key = Array(name.utf8)
    func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
    var i = 1
    while i + key.count < tagEnd {
        defer { i += 1 }
        guard isSpace(element[i - 1]), element[i..<(i + key.count)].elementsEqual(key) else { continue }
        var j = i + key.count
        while j < tagEnd, isSpace(element[j]) { j += 1 }
        guard j < tagEnd, element[j] == UInt8(ascii: "=") else { continue }
        j += 1
        while j < tagEnd, isSpace(element[j]) { j += 1 }
        guard j < tagEnd, element[j] == UInt8(ascii: "\"") || element[j] == UInt8(ascii: "'") else { continue }
        let quote = element[j]
        j += 1
        let start = j
        while j < tagEnd, element[j] != quote { j += 1 }
        return parseDecimal(element.baseAddress! + start, j - start)
    }
    return nil
}

/// The text of the first child element named `name` or `prefix:name`, spaces trimmed.
private func elementText(_ name: String, _ element: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
    let suffix = Array((name + ">").utf8)
    var from = 0
    while let i = find(suffix, in: element, from: from) {
        from = i + 1
        // An opening tag: "<name>" or "<prefix:name>", not "</…>" nor "<maxspeed>".
        var j = i - 1
        guard j >= 0 else { continue }
        if element[j] == UInt8(ascii: ":") {
            while j > 0, element[j] != UInt8(ascii: "<") { j -= 1 }
        }
        guard element[j] == UInt8(ascii: "<"), j + 1 < element.count, element[j + 1] != UInt8(ascii: "/") else { continue }
        var start = i + suffix.count
        guard let close = element[start...].firstIndex(of: UInt8(ascii: "<")) else { return nil }
        var end = close
        while start < end, element[start] <= 0x20 { start += 1 }
        while end > start, element[end - 1] <= 0x20 { end -= 1 }
        return UnsafeBufferPointer(rebasing: element[start..<end])
    }
    return nil
}

/// The first index at or after `from` where `needle` starts in `haystack`.
private func find<C: RandomAccessCollection>(_ needle: [UInt8], in haystack: C, from: C.Index) -> C.Index?
where C.Element == UInt8, C.Index == Int {
    guard let first = needle.first, haystack.endIndex - from >= needle.count else { return nil }
    var i = from
    let last = haystack.endIndex - needle.count
    while i <= last {
        if haystack[i] == first {
            var k = 1
            while k < needle.count, haystack[i + k] == needle[k] { k += 1 }
            if k == needle.count { return i }
        }
        i += 1
    }
    return nil
}

private func newlines(_ bytes: [UInt8], _ from: Int, _ to: Int) -> Int {
    var n = 0
    for i in from..<to where bytes[i] == UInt8(ascii: "\n") { n += 1 }
    return n
}
