import Testing

@testable import BumpCore

// MARK: - Helpers


/// Collects what a reader delivers.
private struct CollectingSink: TraceRowSink {
    var rows: [TraceRow] = []
    var trips: [Int] = []
    mutating func accept(_ row: TraceRow, trip: Int) {
        rows.append(row)
        trips.append(trip)
    }
}

/// Everything a reader produced for one input.
private struct ReadResult {
    var rows: [TraceRow]
    var trips: [Int]
    var issues: [RowIssue]
    var stats: ReadStats
    var tripNames: [String]
    var tripDevices: [String?]

    /// Comparable across chunkings (NaN fields compared as equal).
    var fingerprint: String {
        let rowText = zip(rows, trips).map { row, trip in
            [row.t, row.ax, row.ay, row.az, row.lat, row.lon, row.speed, row.accuracy]
                .map { $0.isNaN ? "-" : "\($0.bitPattern)" }.joined(separator: " ") + " @\(trip)"
        }
        return (rowText + issues.map(\.description) + tripNames + tripDevices.map { $0 ?? "nil" }
            + ["\(stats)"]).joined(separator: "\n")
    }
}

/// Splits `bytes` into chunks of `chunkSize` (or at the offsets in `cuts`) and feeds them.
private func feed(_ bytes: [UInt8], chunkSize: Int?, cuts: [Int], _ body: (UnsafeRawBufferPointer) throws(TraceReadError) -> Void)
    throws(TraceReadError)
{
    var bounds = [0]
    if let chunkSize {
        bounds += Array(stride(from: chunkSize, to: bytes.count, by: chunkSize))
    } else {
        bounds += cuts.filter { $0 > 0 && $0 < bytes.count }
    }
    bounds.append(bytes.count)
    for (start, end) in zip(bounds, bounds.dropFirst()) {
        // Copy each chunk so nothing can read past it unnoticed by address sanitizers.
        let chunk = Array(bytes[start..<end])
        // withUnsafeBytes does not forward typed throws; carry the error out by hand.
        let result: Result<Void, TraceReadError> = chunk.withUnsafeBytes { raw in
            do throws(TraceReadError) {
                try body(raw)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }
}

private func readCSV(
    _ text: String, chunkSize: Int? = nil, cuts: [Int] = [], source: String = "trip1.csv", defaultTrip: String = "trip1",
    maxIssues: Int = 1000, maxLineBytes: Int = 1 << 20
) throws(TraceReadError) -> ReadResult {
    try readCSV(
        Array(text.utf8), chunkSize: chunkSize, cuts: cuts, source: source, defaultTrip: defaultTrip,
        maxIssues: maxIssues, maxLineBytes: maxLineBytes)
}

private func readCSV(
    _ bytes: [UInt8], chunkSize: Int? = nil, cuts: [Int] = [], source: String = "trip1.csv", defaultTrip: String = "trip1",
    maxIssues: Int = 1000, maxLineBytes: Int = 1 << 20
) throws(TraceReadError) -> ReadResult {
    var reader = CanonicalCSVReader(
        source: source, defaultTrip: defaultTrip, maxIssues: maxIssues, maxLineBytes: maxLineBytes)
    var sink = CollectingSink()
    try feed(bytes, chunkSize: chunkSize, cuts: cuts) { (chunk) throws(TraceReadError) in
        try reader.consume(chunk, into: &sink)
    }
    try reader.finish(into: &sink)
    return ReadResult(
        rows: sink.rows, trips: sink.trips, issues: reader.issues, stats: reader.stats,
        tripNames: reader.tripNames, tripDevices: reader.tripDevices)
}

private func readNDJSON(
    _ text: String, chunkSize: Int? = nil, cuts: [Int] = [], source: String = "trips.ndjson", maxIssues: Int = 1000,
    maxLineBytes: Int = 1 << 20
) throws(TraceReadError) -> ReadResult {
    var reader = NDJSONTraceReader(source: source, maxIssues: maxIssues, maxLineBytes: maxLineBytes)
    var sink = CollectingSink()
    try feed(Array(text.utf8), chunkSize: chunkSize, cuts: cuts) { (chunk) throws(TraceReadError) in
        try reader.consume(chunk, into: &sink)
    }
    try reader.finish(into: &sink)
    return ReadResult(
        rows: sink.rows, trips: sink.trips, issues: reader.issues, stats: reader.stats,
        tripNames: reader.tripNames, tripDevices: reader.tripDevices)
}

/// Field-by-field equality where NaN equals NaN.
private func same(_ a: TraceRow, _ b: TraceRow) -> Bool {
    let x = [a.t, a.ax, a.ay, a.az, a.lat, a.lon, a.speed, a.accuracy]
    let y = [b.t, b.ax, b.ay, b.az, b.lat, b.lon, b.speed, b.accuracy]
    return zip(x, y).allSatisfy { $0.isNaN ? $1.isNaN : $0 == $1 }
}

private func same(_ a: [TraceRow], _ b: [TraceRow]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { same($0, $1) }
}

/// The one issue of a result, checked for line and field; returns its reason.
@discardableResult
private func expectSingleIssue(
    _ result: ReadResult, line: Int, field: String?, reasonContains fragment: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) -> String {
    #expect(result.issues.count == 1, "issues: \(result.issues)", sourceLocation: sourceLocation)
    #expect(result.stats.rejectedRows == 1, sourceLocation: sourceLocation)
    guard let issue = result.issues.first else { return "" }
    #expect(issue.line == line, "\(issue)", sourceLocation: sourceLocation)
    #expect(issue.field == field, "\(issue)", sourceLocation: sourceLocation)
    #expect(issue.reason.contains(fragment), "\(issue)", sourceLocation: sourceLocation)
    return issue.reason
}

private let header = "t,ax,ay,az,lat,lon,speed,accuracy\n"
private let accelRow = "1717171717123.5,0.123456,-9.654321,1.234567,,,,\n"
private let fixRow = "1717171717200,,,,42.3601234,-71.0589876,12.34,4.5\n"

// MARK: - CSV

@Suite struct CanonicalCSVReaderTests {
    @Test func readsAccelerationAndFixRows() throws {
        let result = try readCSV(header + accelRow + fixRow + "1717171717300,1,2,3,42.5,-71.5,,\n")
        #expect(result.issues.isEmpty)
        #expect(result.stats.lines == 4 && result.stats.rows == 3 && result.stats.rejectedRows == 0)
        #expect(result.stats.bytes == (header + accelRow + fixRow).utf8.count + 33)
        #expect(result.tripNames == ["trip1"])
        #expect(result.tripDevices == [nil])
        #expect(result.trips == [0, 0, 0])
        #expect(same(result.rows, [
            TraceRow(t: 1717171717123.5, ax: 0.123456, ay: -9.654321, az: 1.234567),
            TraceRow(t: 1717171717200, lat: 42.3601234, lon: -71.0589876, speed: 12.34, accuracy: 4.5),
            TraceRow(t: 1717171717300, ax: 1, ay: 2, az: 3, lat: 42.5, lon: -71.5),
        ]))
        #expect(result.rows[0].hasAcceleration && !result.rows[0].hasFix)
        #expect(result.rows[1].hasFix && !result.rows[1].hasAcceleration)
    }

    @Test func aZeroTimeFirstDoesNotDecideTheUnit() throws {
        // A fix stamped 0 first (some phones), then epoch milliseconds: not read as seconds.
        let stamped = try readCSV(header + "0,,,,42.35,-71.06,0,20\n" + accelRow + fixRow)
        #expect(stamped.rows.map(\.t) == [0, 1717171717123.5, 1717171717200])
        // Times since the start in seconds still are seconds.
        let relative = try readCSV(header + "0,1,2,3,,,,\n0.01,1,2,3,,,,\n")
        #expect(relative.rows.map(\.t) == [0, 10])
    }

    @Test func readsFilesWithOnlyOneGroupOfColumns() throws {
        let gps = try readCSV("t,lat,lon\n1717171717200,42.1,-71.2\n")
        #expect(same(gps.rows, [TraceRow(t: 1717171717200, lat: 42.1, lon: -71.2)]))
        let accel = try readCSV("t,ax,ay,az\n1717171717200,1,2,3\n")
        #expect(same(accel.rows, [TraceRow(t: 1717171717200, ax: 1, ay: 2, az: 3)]))
    }

    @Test func acceptsCRLFAndBOM() throws {
        let text = "\u{FEFF}" + (header + accelRow + fixRow).replacing("\n", with: "\r\n")
        let result = try readCSV(text)
        #expect(result.issues.isEmpty)
        #expect(result.rows.count == 2)
        #expect(result.rows[1].accuracy == 4.5)
    }

    @Test func ignoresBlankLinesButCountsThem() throws {
        let result = try readCSV("\n" + header + "\n" + accelRow + "   \n\r\n" + "x,1,2,3,,,,\n" + fixRow + "\n")
        #expect(result.rows.count == 2)
        expectSingleIssue(result, line: 7, field: "t", reasonContains: "not a number: 'x'")
        #expect(result.stats.lines == 9)
    }

    @Test func readsLastLineWithoutNewline() throws {
        let result = try readCSV(header + accelRow + String(fixRow.dropLast()))
        #expect(result.rows.count == 2)
        #expect(result.rows[1].accuracy == 4.5)
        #expect(result.stats.lines == 3)
        let crOnly = try readCSV(header + String(fixRow.dropLast()) + "\r")
        #expect(crOnly.rows.count == 1 && crOnly.rows[0].accuracy == 4.5)
    }

    @Test func resultDoesNotDependOnChunking() throws {
        let text = "\u{FEFF}t,ax,ay,az,lat,lon,speed,accuracy,trip,device\r\n" + "1,1,2,3,,,,,a,phone\r\n"
            + "\r\n" + "2,,,,45,7,1,2,b,\n" + "3,1,2\n" + "4,1,x,3,,,,,a,\n" + "5,1,2,3,,,,,\"c,d\",tab\n"
            + String(repeating: "9", count: 100) + "\n" + "6,1,2,3,91,0,,,a,\n" + "7,4,5,6,,,,,b,"
        let reference = try readCSV(text, maxLineBytes: 64)
        #expect(reference.rows.count == 4)
        #expect(reference.stats.rejectedRows == 4)
        for size in [1, 2, 3, 7, 8, 9, 64, 1000] {
            let chunked = try readCSV(text, chunkSize: size, maxLineBytes: 64)
            #expect(chunked.fingerprint == reference.fingerprint, "chunk size \(size)")
        }
        for cut in 0...text.utf8.count {
            let split = try readCSV(text, cuts: [cut], maxLineBytes: 64)
            #expect(split.fingerprint == reference.fingerprint, "split at \(cut)")
        }
    }

    @Test func fastPathResultDoesNotDependOnChunking() throws {
        let text = header + accelRow + fixRow + "1,2\r\n" + accelRow + "\n" + fixRow.replacing("\n", with: "\r\n")
            + "x,1,2,3,,,,\n" + String(repeating: accelRow, count: 3) + String(fixRow.dropLast())
        let reference = try readCSV(text)
        #expect(reference.rows.count == 8 && reference.issues.map(\.line) == [4, 8])
        for size in [1, 2, 3, 7, 8, 9, 50, 1000] {
            let chunked = try readCSV(text, chunkSize: size)
            #expect(chunked.fingerprint == reference.fingerprint, "chunk size \(size)")
        }
        for cut in 0...text.utf8.count {
            let split = try readCSV(text, cuts: [cut])
            #expect(split.fingerprint == reference.fingerprint, "split at \(cut)")
        }
    }

    @Test func deliversLongRunsInOrder() throws {
        // More rows than one internal batch, in one chunk and in several.
        let text = header + (0..<1000).map { "\(1_717_171_717_000 + $0),0.1,0.2,0.3,,,,\n" }.joined()
        for size in [nil, 4096] as [Int?] {
            let result = try readCSV(text, chunkSize: size)
            #expect(result.rows.map(\.t) == (0..<1000).map { Double(1_717_171_717_000 + $0) })
            #expect(result.stats.rows == 1000 && result.stats.lines == 1001)
        }
    }

    @Test func rejectsRowsWithTooManyOrTooFewFields() throws {
        let many = try readCSV(header + accelRow + "1,1,2,3,,,,,\n" + fixRow)
        expectSingleIssue(many, line: 3, field: nil, reasonContains: "too many fields: expected 8, found 9")
        #expect(many.rows.count == 2)
        let few = try readCSV(header + accelRow + "1,1,2,3\n" + fixRow)
        expectSingleIssue(few, line: 3, field: nil, reasonContains: "too few fields: expected 8, found 4")
        #expect(few.rows.count == 2)
        // A shifted row is reported by its field count, not by the first value that fails.
        let shifted = try readCSV(header + "1,abc,1,2,3,,,,\n")
        expectSingleIssue(shifted, line: 2, field: nil, reasonContains: "too many fields")
    }

    @Test func namesTheNonNumericField() throws {
        let result = try readCSV(header + accelRow + "1717171717124,0.1,abc,0.3,,,,\n" + fixRow)
        expectSingleIssue(result, line: 3, field: "ay", reasonContains: "not a number: 'abc'")
        #expect(result.rows.map(\.t) == [1717171717123.5, 1717171717200])
        let spaced = try readCSV(header + "1717171717124,0.1,1 2,0.3,,,,\n")
        expectSingleIssue(spaced, line: 2, field: "ay", reasonContains: "'1 2'")
        let huge = try readCSV(header + "1717171717124,,,,45,1e999,,\n")
        expectSingleIssue(huge, line: 2, field: "lon", reasonContains: "out of range")
        let inf = try readCSV(header + "1717171717124,,,,45,7,inf,\n")
        expectSingleIssue(inf, line: 2, field: "speed", reasonContains: "not a number: 'inf'")
    }

    @Test func rejectsMissingTime() throws {
        let result = try readCSV(header + ",1,2,3,,,,\n" + accelRow)
        expectSingleIssue(result, line: 2, field: "t", reasonContains: "missing time")
        #expect(result.rows.count == 1)
    }

    @Test func rejectsPartialAcceleration() throws {
        let result = try readCSV(header + "1717171717124,0.1,0.2,,,,,\n" + accelRow)
        expectSingleIssue(result, line: 2, field: "az", reasonContains: "incomplete acceleration")
        #expect(result.rows.count == 1)
        let onlyAy = try readCSV(header + "1717171717124,,0.2,,45,7,,\n")
        expectSingleIssue(onlyAy, line: 2, field: "ax")
    }

    @Test func rejectsHalfAFix() throws {
        let noLon = try readCSV(header + "1717171717124,,,,42.1,,,\n" + fixRow)
        expectSingleIssue(noLon, line: 2, field: "lon", reasonContains: "latitude without longitude")
        #expect(noLon.rows.count == 1)
        let noLat = try readCSV(header + fixRow + "1717171717124,,,,,-71,,\n")
        expectSingleIssue(noLat, line: 3, field: "lat", reasonContains: "longitude without latitude")
        #expect(noLat.rows.count == 1)
    }

    @Test func rejectsCoordinatesOutOfRange() throws {
        let lat = try readCSV(header + "1717171717124,,,,90.5,0,,\n" + fixRow)
        expectSingleIssue(lat, line: 2, field: "lat", reasonContains: "outside [-90, 90]")
        let lon = try readCSV(header + fixRow + "1717171717124,,,,45,-180.01,,\n")
        expectSingleIssue(lon, line: 3, field: "lon", reasonContains: "outside [-180, 180]")
        let edges = try readCSV(header + "1,,,,90,-180,,\n2,,,,-90,180,,\n")
        #expect(edges.rows.count == 2 && edges.issues.isEmpty)
    }

    @Test func rejectsRowsWithNeitherAccelerationNorFix() throws {
        let result = try readCSV(header + "1717171717124,,,,,,3,4\n" + accelRow)
        expectSingleIssue(result, line: 2, field: nil, reasonContains: "neither acceleration")
        #expect(result.rows.count == 1)
    }

    @Test func treatsNaNAsAbsent() throws {
        let result = try readCSV(header + "1717171717124,NaN,nan,NAN,42,7,,\n")
        #expect(result.issues.isEmpty)
        #expect(result.rows.first?.hasAcceleration == false)
        #expect(result.rows.first?.hasFix == true)
    }

    @Test func trimsSpacesAndAcceptsQuotedValues() throws {
        let result = try readCSV(header + " 1717171717124 , 1 ,\t2,\"3\" ,,,\" \", \n")
        #expect(result.issues.isEmpty)
        #expect(same(result.rows, [TraceRow(t: 1717171717124, ax: 1, ay: 2, az: 3)]))
    }

    @Test func rejectsOverlongLinesWithoutKeepingThem() throws {
        let long = "1717171717124," + String(repeating: "1", count: 200) + ",2,3,,,,\n"
        for chunk in [nil, 1, 7, 50] as [Int?] {
            let result = try readCSV(header + accelRow + long + fixRow, chunkSize: chunk, maxLineBytes: 100)
            expectSingleIssue(result, line: 3, field: nil, reasonContains: "longer than 100 bytes")
            #expect(result.rows.count == 2)
            #expect(result.stats.lines == 4)
            // As the last line, without newline.
            let last = try readCSV(header + accelRow + String(long.dropLast()), chunkSize: chunk, maxLineBytes: 100)
            expectSingleIssue(last, line: 3, field: nil, reasonContains: "longer than 100 bytes")
            #expect(last.rows.count == 1)
        }
        // A line of exactly the limit is fine, one byte more is not, however it is chunked.
        let limit = accelRow.utf8.count - 1
        for chunk in [nil, 1, 5] as [Int?] {
            let fits = try readCSV(header + accelRow + accelRow, chunkSize: chunk, maxLineBytes: limit)
            #expect(fits.rows.count == 2 && fits.issues.isEmpty)
            let over = try readCSV(header + accelRow + accelRow, chunkSize: chunk, maxLineBytes: limit - 1)
            #expect(over.rows.isEmpty && over.stats.rejectedRows == 2)
            let lastOver = try readCSV(header + String(accelRow.dropLast()), chunkSize: chunk, maxLineBytes: limit - 1)
            #expect(lastOver.rows.isEmpty && lastOver.stats.rejectedRows == 1)
        }
    }

    @Test func groupsRowsByTripColumn() throws {
        let text = "trip,t,ax,ay,az,lat,lon,speed,accuracy,device\n" + "veh-1,1,1,2,3,,,,,pixel\n"
            + "veh-2,2,1,2,3,,,,,\n" + "veh-1,3,,,,45,7,,,\n" + "veh-3,4,1,2,3,,,,,iphone\n"
            + "veh-2,5,1,2,3,,,,,galaxy\n" + "\"veh-1\",6,1,2,3,,,,,other\n" + ",7,1,2,3,,,,,\n"
        let result = try readCSV(text)
        #expect(result.tripNames == ["veh-1", "veh-2", "veh-3"])
        #expect(result.trips == [0, 1, 0, 2, 1, 0])
        #expect(result.rows.map(\.t) == [1000, 2000, 3000, 4000, 5000, 6000])
        #expect(result.tripDevices == ["pixel", "galaxy", "iphone"])
        expectSingleIssue(result, line: 8, field: "trip", reasonContains: "missing trip name")
    }

    @Test func quotedTripNamesMayHoldCommasAndQuotes() throws {
        let result = try readCSV("t,ax,ay,az,trip\n1,1,2,3,\"a,\"\"b\"\"\"\n2,1,2,3,plain\n3,1,2,3,\"a,\"\"b\"\"\"\n")
        #expect(result.tripNames == ["a,\"b\"", "plain"])
        #expect(result.trips == [0, 1, 0])
        let broken = try readCSV("t,ax,ay,az,trip\n1,1,2,3,\"open\n")
        expectSingleIssue(broken, line: 2, field: "trip", reasonContains: "unterminated quote")
    }

    @Test func manyTripsInterleaved() throws {
        var text = "t,ax,ay,az,trip\n"
        for i in 0..<2000 { text += "\(i),1,2,3,trip-\(i % 300)\n" }
        let result = try readCSV(text)
        #expect(result.tripNames.count == 300)
        #expect(result.tripNames[299] == "trip-299")
        #expect(result.trips == (0..<2000).map { $0 % 300 })
    }

    @Test func headerMayReorderQuoteAndExtendColumns() throws {
        let text = " \"LON\" , Lat,extra,\"T\",AZ,ay,Ax,notes\n" + "-71.5,42.5,ignored,1717171717000,3,2,1,\"a, b\"\n"
        let result = try readCSV(text)
        #expect(result.issues.isEmpty)
        #expect(same(result.rows, [TraceRow(t: 1717171717000, ax: 1, ay: 2, az: 3, lat: 42.5, lon: -71.5)]))
    }

    @Test func guessesTheTimeUnitFromTheFirstValidRow() throws {
        func times(_ values: [String]) throws -> [Double] {
            try readCSV("t,ax,ay,az\n" + values.map { "\($0),1,2,3\n" }.joined()).rows.map(\.t)
        }
        #expect(try times(["1717171717.5", "1717171718"]) == [1717171717500, 1717171718000])
        #expect(try times(["0.01", "0.02", "200000000000"]) == [10, 20, 200_000_000_000_000])
        #expect(try times(["1717171717123", "1717171717124.5"]) == [1717171717123, 1717171717124.5])
        #expect(try times(["1717171717123456", "1717171717123457"]) == [1717171717123.456, 1717171717123.457])
        let ns = try times(["1717171717123456789", "1717171717123457000"])
        #expect(abs(ns[0] - 1717171717123.456789) < 1e-3 && abs(ns[1] - 1717171717123.457) < 1e-3)
        // A rejected first row does not decide the unit.
        let result = try readCSV("t,ax,ay,az\n1717171717,1,x,3\n1717171717123,1,2,3\n")
        #expect(result.rows.map(\.t) == [1717171717123])
    }

    @Test func passesUnsortedAndDuplicateTimesThrough() throws {
        let result = try readCSV("t,ax,ay,az\n3,1,2,3\n1,1,2,3\n1,4,5,6\n2,1,2,3\n")
        #expect(result.issues.isEmpty)
        #expect(result.rows.map(\.t) == [3000, 1000, 1000, 2000])
        #expect(result.rows.map(\.ax) == [1, 1, 4, 1])
    }

    @Test func fastAndGeneralPathsAgreeOnRandomRows() throws {
        // The canonical layout takes a fast path; an extra leading column forces the general
        // one. Both must keep the same rows and blame the same lines and fields.
        var rng = SimRandom(seed: 7)
        let values = [
            "1717171717123.5", "0.5", "-9.81", "", "", "", " 3 ", "abc", "1e999", "NaN", "\"2\"", "91", "-181",
            "1.5e3", "42.1", "-71.2", "0", "-0", "12345678901234567890123", ".5", "5.", "+1", "1 2", "\r",
        ]
        var canonical = "t,ax,ay,az,lat,lon,speed,accuracy\n"
        var shifted = "extra,t,ax,ay,az,lat,lon,speed,accuracy\n"
        for _ in 0..<3000 {
            var fields = (0..<8).map { _ in values.randomElement(using: &rng)! }
            if Int.random(in: 0..<3, using: &rng) > 0 { fields[0] = "1717171717\(Int.random(in: 100...999, using: &rng))" }
            if Int.random(in: 0..<20, using: &rng) == 0 { fields.removeLast() }
            if Int.random(in: 0..<20, using: &rng) == 0 { fields.append("1") }
            let end = Bool.random(using: &rng) ? "\n" : "\r\n"
            let line = Int.random(in: 0..<30, using: &rng) == 0 ? "" : fields.joined(separator: ",")
            canonical += line + end
            shifted += (line.isEmpty ? "" : "x," + line) + end
        }
        let fast = try readCSV(canonical)
        let general = try readCSV(shifted)
        #expect(fast.rows.count > 100 && fast.issues.count > 100)
        #expect(same(fast.rows, general.rows))
        #expect(fast.stats.rejectedRows == general.stats.rejectedRows)
        #expect(fast.issues.map(\.line) == general.issues.map(\.line))
        #expect(fast.issues.map(\.field) == general.issues.map(\.field))
    }

    @Test func keepsAtMostMaxIssuesButCountsAll() throws {
        let bad = String(repeating: "x,1,2,3,,,,\n", count: 5)
        let result = try readCSV(header + bad + accelRow, maxIssues: 2)
        #expect(result.issues.map(\.line) == [2, 3])
        #expect(result.stats.rejectedRows == 5)
        #expect(result.stats.rows == 1)
    }

    @Test func issueDescriptionNamesFileLineAndField() throws {
        let result = try readCSV(header + "1,1,oops,3,,,,\n")
        #expect(result.issues.first?.description == "trip1.csv:2: field 'ay': not a number: 'oops'")
    }

    @Test func missingTimeColumnIsFatal() {
        #expect(throws: TraceReadError(
            source: "trip1.csv", line: 1,
            message: "missing required column 't' (found: time, x, y); expected header t,ax,ay,az,lat,lon,speed,accuracy"))
        {
            try readCSV("time,x,y\n1,2,3\n")
        }
        do {
            _ = try readCSV("time,x,y\n1,2,3\n")
        } catch {
            #expect(error.description == "trip1.csv:1: missing required column 't' (found: time, x, y); expected header t,ax,ay,az,lat,lon,speed,accuracy")
        }
    }

    @Test func otherFatalHeaderProblems() {
        func message(_ text: String) -> String? {
            do {
                _ = try readCSV(text)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(message("t,ax,ay,speed\n1,2,3,4\n")?.hasPrefix("trip1.csv:1: need columns ax, ay, az or lat, lon (found: t, ax, ay, speed)") == true)
        #expect(message("")?.hasPrefix("trip1.csv:1: empty file") == true)
        #expect(message("\n\n")?.hasPrefix("trip1.csv:1: empty file") == true)
        #expect(message("t,ax,ay,az,AX\n")?.contains("duplicate column 'ax'") == true)
        #expect(message("1717171717123.5,0.1,0.2,0.3\n")?.contains("no header line") == true)
        #expect(message("\u{1F}\u{8B}\u{08}\u{00}binary\n")?.contains("not a text file") == true)
        #expect(message("t,ax,\"ay,az\n")?.contains("unterminated quote in header") == true)
        do {
            _ = try readCSV([0x74, 0xC3, 0x28, 0x2C, 0x61, 0x78, 0x0A] as [UInt8])
            Issue.record("invalid UTF-8 accepted")
        } catch {
            #expect(error.message == "not a text file (invalid UTF-8 in the first line)")
        }
        let utf16: [UInt8] = [0xFF, 0xFE, 0x74, 0x00, 0x0A, 0x00]
        do {
            _ = try readCSV(utf16)
            Issue.record("UTF-16 accepted")
        } catch {
            #expect(error.message.contains("UTF-16"))
        }
        // A header on a later line (after blank lines) is reported on its own line.
        #expect(message("\n\ntime\n")?.hasPrefix("trip1.csv:3: missing required column 't'") == true)
        // An over-long first line is not a header.
        do {
            _ = try readCSV(String(repeating: "t", count: 300), maxLineBytes: 100)
            Issue.record("over-long header accepted")
        } catch {
            #expect(error.line == 1 && error.message.contains("longer than 100 bytes"))
        }
    }
}

// MARK: - NDJSON

@Suite struct NDJSONTraceReaderTests {
    @Test func readsRows() throws {
        let text = """
            {"trip":"veh-12","t":1717171717123.5,"ax":0.123456,"ay":-9.654321,"az":1.234567}
            {"trip":"veh-12","t":1717171717200,"lat":42.3601234,"lon":-71.0589876,"speed":12.34,"accuracy":4.5,"device":"pixel-8"}
            {"t":1717171717300,"ax":1,"ay":2,"az":3,"lat":42.5,"lon":-71.5,"speed":null,"accuracy":null,"trip":"veh-12"}

            """
        let result = try readNDJSON(text)
        #expect(result.issues.isEmpty)
        #expect(result.tripNames == ["veh-12"])
        #expect(result.tripDevices == ["pixel-8"])
        #expect(result.trips == [0, 0, 0])
        #expect(result.stats.lines == 3 && result.stats.rows == 3 && result.stats.bytes == text.utf8.count)
        #expect(same(result.rows, [
            TraceRow(t: 1717171717123.5, ax: 0.123456, ay: -9.654321, az: 1.234567),
            TraceRow(t: 1717171717200, lat: 42.3601234, lon: -71.0589876, speed: 12.34, accuracy: 4.5),
            TraceRow(t: 1717171717300, ax: 1, ay: 2, az: 3, lat: 42.5, lon: -71.5),
        ]))
    }

    @Test func aZeroTimeFirstDoesNotDecideATripsUnit() throws {
        let text = """
            {"trip":"a","t":0,"lat":42.34,"lon":-71.06}
            {"trip":"a","t":1717171717123.5,"ax":1,"ay":2,"az":3}
            {"trip":"b","t":0,"ax":1,"ay":2,"az":3}
            {"trip":"b","t":0.01,"ax":1,"ay":2,"az":3}

            """
        let result = try readNDJSON(text)
        #expect(result.rows.map(\.t) == [0, 1717171717123.5, 0, 10])
    }

    @Test func interleavedTripsKeepTheirOwnTimeUnit() throws {
        let text = """
            {"trip":"a","t":1717171717.5,"ax":1,"ay":2,"az":3}
            {"trip":"b","t":1717171717123,"ax":1,"ay":2,"az":3}
            {"trip":"a","t":1717171718,"ax":1,"ay":2,"az":3}
            {"trip":7,"t":0.5,"ax":1,"ay":2,"az":3}
            {"trip":"b","t":1717171717124,"ax":1,"ay":2,"az":3}
            {"trip":"7","t":1.5,"ax":1,"ay":2,"az":3}
            """
        let result = try readNDJSON(text)
        #expect(result.issues.isEmpty)
        #expect(result.tripNames == ["a", "b", "7"])
        #expect(result.trips == [0, 1, 0, 2, 1, 2])
        #expect(result.rows.map(\.t) == [1717171717500, 1717171717123, 1717171718000, 500, 1717171717124, 1500])
    }

    @Test func decodesEscapesInNames() throws {
        let text = #"""
            {"trip":"a\"b\\c\/d","t":1,"ax":1,"ay":2,"az":3,"device":"tab\there\nnew"}
            {"trip":"caf\u00e9 \ud83d\ude97","t":2,"ax":1,"ay":2,"az":3}
            {"trip":"café 🚗","t":3,"ax":1,"ay":2,"az":3}
            {"trip":"\u0061","t":4,"ax":1,"ay":2,"az":3}
            {"trip":"a","t":5,"ax":1,"ay":2,"az":3}
            {"trip":"lone \ud800 x","t":6,"ax":1,"ay":2,"az":3,"device":"\b\f\r"}
            {"tr\u0069p":"a","\u0074":7,"ax":1,"ay":2,"az":3}
            """#
        let result = try readNDJSON(text)
        #expect(result.issues.isEmpty, "\(result.issues)")
        #expect(result.tripNames == ["a\"b\\c/d", "café 🚗", "a", "lone \u{FFFD} x"])
        #expect(result.trips == [0, 1, 1, 2, 2, 3, 2])
        #expect(result.tripDevices == ["tab\there\nnew", nil, nil, "\u{8}\u{C}\r"])
    }

    @Test func skipsUnknownKeysWhateverTheirValue() throws {
        let text = #"""
            {"meta":{"a":[1,2,{"b":"x\"}y"}],"c":null},"ok":true,"no":false,"n":null,"s":"\u0041\n","num":-1.5e3,"arr":[],"obj":{},"trip":"a","t":1,"ax":1,"ay":2,"az":3}
            """#
        let result = try readNDJSON(text)
        #expect(result.issues.isEmpty, "\(result.issues)")
        #expect(result.rows.count == 1)
    }

    @Test func limitsNesting() throws {
        let deep = String(repeating: "[", count: 31) + String(repeating: "]", count: 31)
        let ok = try readNDJSON(#"{"x":\#(deep),"trip":"a","t":1,"ax":1,"ay":2,"az":3}"#)
        #expect(ok.issues.isEmpty && ok.rows.count == 1)
        let tooDeep = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        let result = try readNDJSON(#"{"trip":"a","t":1,"ax":1,"ay":2,"az":3,"x":\#(tooDeep)}"# + "\n" + #"{"trip":"a","t":2,"ax":1,"ay":2,"az":3}"#)
        expectSingleIssue(result, line: 1, field: "x", reasonContains: "nested deeper than 32 levels")
        #expect(result.rows.map(\.t) == [2000])
    }

    @Test func acceptsWhitespaceCRLFBOMAndBlankLines() throws {
        let text = "\u{FEFF}  { \"trip\" : \"a\" ,\t\"t\" :1 , \"ax\": 1,\"ay\":2 ,\"az\" : 3 }  \r\n\r\n   \n{\"trip\":\"a\",\"t\":2,\"lat\":1,\"lon\":2}"
        let result = try readNDJSON(text)
        #expect(result.issues.isEmpty, "\(result.issues)")
        #expect(result.rows.map(\.t) == [1000, 2000])
        #expect(result.stats.lines == 4)
    }

    @Test func rejectsMissingOrBadTrip() throws {
        let missing = try readNDJSON(#"{"t":1,"ax":1,"ay":2,"az":3}"# + "\n" + #"{"trip":"a","t":2,"ax":1,"ay":2,"az":3}"#)
        expectSingleIssue(missing, line: 1, field: "trip", reasonContains: "missing trip")
        #expect(missing.rows.count == 1)
        let null = try readNDJSON(#"{"trip":null,"t":1,"ax":1,"ay":2,"az":3}"#)
        expectSingleIssue(null, line: 1, field: "trip", reasonContains: "missing trip")
        let empty = try readNDJSON(#"{"trip":"","t":1,"ax":1,"ay":2,"az":3}"#)
        expectSingleIssue(empty, line: 1, field: "trip", reasonContains: "empty trip name")
        let object = try readNDJSON(#"{"trip":{},"t":1,"ax":1,"ay":2,"az":3}"#)
        expectSingleIssue(object, line: 1, field: "trip", reasonContains: "expected a string or number")
        let device = try readNDJSON(#"{"trip":"a","device":5,"t":1,"ax":1,"ay":2,"az":3}"#)
        expectSingleIssue(device, line: 1, field: "device", reasonContains: "expected a string or null")
    }

    @Test func rejectsValuesOfTheWrongType() throws {
        let string = try readNDJSON(#"{"trip":"a","t":"1","ax":1,"ay":2,"az":3}"#)
        expectSingleIssue(string, line: 1, field: "t", reasonContains: "found a string")
        let bool = try readNDJSON(#"{"trip":"a","t":1,"ax":true,"ay":2,"az":3}"#)
        expectSingleIssue(bool, line: 1, field: "ax", reasonContains: "expected a number or null")
        let junk = try readNDJSON(#"{"trip":"a","t":1,"ax":1,"ay":2x,"az":3}"#)
        expectSingleIssue(junk, line: 1, field: "ay", reasonContains: "not a number: '2x'")
        let huge = try readNDJSON(#"{"trip":"a","t":1,"ax":1,"ay":2,"az":1e999}"#)
        expectSingleIssue(huge, line: 1, field: "az", reasonContains: "out of range")
        let nan = try readNDJSON(#"{"trip":"a","t":1,"ax":NaN,"ay":null,"az":NaN,"lat":1,"lon":2}"#)
        #expect(nan.issues.isEmpty && nan.rows.count == 1 && !nan.rows[0].hasAcceleration)
    }

    @Test func appliesTheRowRules() throws {
        let lines = [
            #"{"trip":"a","t":1,"ax":1,"ay":2,"az":3}"#,
            #"{"trip":"a","ax":1,"ay":2,"az":3}"#,
            #"{"trip":"a","t":2,"ax":1,"az":3}"#,
            #"{"trip":"a","t":3,"lat":45}"#,
            #"{"trip":"a","t":4,"lon":45,"lat":null}"#,
            #"{"trip":"a","t":5,"lat":-90.1,"lon":45}"#,
            #"{"trip":"a","t":6,"lat":0,"lon":180.5}"#,
            #"{"trip":"a","t":7,"speed":3}"#,
            #"{"trip":"a","t":8,"lat":1,"lon":2}"#,
        ]
        let result = try readNDJSON(lines.joined(separator: "\n"))
        #expect(result.rows.map(\.t) == [1000, 8000])
        #expect(result.issues.map(\.line) == [2, 3, 4, 5, 6, 7, 8])
        #expect(result.issues.map(\.field) == ["t", "ay", "lon", "lat", "lat", "lon", nil])
    }

    @Test func reportsInvalidJSONAsSyntaxErrors() throws {
        let bad = [
            #"{"trip":"a","t":1,"ax":1,"ay":2,"az":3"#,
            #"{"trip":"a","t":1,"ax":1,"ay":2,"az":3,}"#,
            #"{trip:"a","t":1,"ax":1,"ay":2,"az":3}"#,
            #"{"trip":"a","t":1,"ax":1,"ay":2,"az":3}x"#,
            #"{"trip":"a","t":1,"ax":1,"ay":2,"az":3,"s":"open}"#,
            #"{"trip":"a","t":1,"ax":1,"ay":2,"az":3,"s":"bad \q escape"}"#,
            #"{"trip":"a","t":1,"ax":1,"ay":2,"az":3,"s":"\u12"}"#,
            #"{"trip":"a","t":1,"ax":1,"ay":2,"az":3,"x":[1,2}"#,
            #"{"trip":"a","t":1,"ax":1,"ay":2,"az":3,"x":tru}"#,
            #"{"trip":"a" "t":1}"#,
            #"["trip","a"]"#,
            #"not json"#,
        ]
        let good = #"{"trip":"a","t":9,"ax":1,"ay":2,"az":3}"#
        let result = try readNDJSON(([good] + bad + [good]).joined(separator: "\n"))
        #expect(result.rows.count == 2)
        #expect(result.stats.rejectedRows == bad.count)
        #expect(result.issues.map(\.line) == Array(2...(bad.count + 1)))
        for issue in result.issues {
            #expect(issue.field == nil, "\(issue)")
            #expect(issue.reason.hasPrefix("invalid JSON at column "), "\(issue)")
        }
        #expect(result.issues[0].reason.contains("expected ',' or '}', found end of line"))
    }

    @Test func resultDoesNotDependOnChunking() throws {
        let text = "\u{FEFF}" + #"{"trip":"a\u00e9","t":1,"ax":1,"ay":2,"az":3,"device":"d"}"# + "\r\n\n"
            + #"{"trip":"b","t":2,"lat":45,"lon":7}"# + "\n" + #"{"trip":"a\u00e9","t":3,"ax":1}"# + "\n"
            + #"{"x":""# + String(repeating: "y", count: 100) + #""}"# + "\n" + #"{"trip":"b","t":4,"ax":1,"ay":2,"az":3}"#
        let reference = try readNDJSON(text, maxLineBytes: 80)
        #expect(reference.rows.count == 3)
        #expect(reference.issues.map(\.line) == [4, 5])
        for size in [1, 2, 7, 8, 13, 1000] {
            let chunked = try readNDJSON(text, chunkSize: size, maxLineBytes: 80)
            #expect(chunked.fingerprint == reference.fingerprint, "chunk size \(size)")
        }
        for cut in 0...text.utf8.count {
            let split = try readNDJSON(text, cuts: [cut], maxLineBytes: 80)
            #expect(split.fingerprint == reference.fingerprint, "split at \(cut)")
        }
    }

    @Test func overlongLinesAreOneIssue() throws {
        let long = #"{"trip":"a","t":1,"note":""# + String(repeating: "z", count: 500) + #""}"#
        let result = try readNDJSON(long + "\n" + #"{"trip":"a","t":2,"lat":1,"lon":2}"#, chunkSize: 7, maxLineBytes: 100)
        expectSingleIssue(result, line: 1, field: nil, reasonContains: "longer than 100 bytes")
        #expect(result.rows.map(\.t) == [2000])
    }

    @Test func notNDJSONIsFatal() {
        func message(_ text: String) -> String? {
            do {
                _ = try readNDJSON(text)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(message("\n[{\"trip\":\"a\"}]\n") == "trips.ndjson:2: a JSON array, not one JSON object per line (NDJSON)")
        #expect(message("\u{1F}\u{8B}\u{08}\u{00}\n")?.contains("not a text file") == true)
        #expect(message("") == nil)
    }

    @Test func deliversLongRunsInOrder() throws {
        let text = (0..<1000).map { #"{"trip":"t\#($0 % 3)","t":\#(1_717_171_717_000 + $0),"lat":1,"lon":2}"# }
            .joined(separator: "\n")
        for size in [nil, 4096] as [Int?] {
            let result = try readNDJSON(text, chunkSize: size)
            #expect(result.rows.map(\.t) == (0..<1000).map { Double(1_717_171_717_000 + $0) })
            #expect(result.trips == (0..<1000).map { $0 % 3 })
        }
    }

    @Test func emptyObjectIsMissingTrip() throws {
        let result = try readNDJSON("{}\n{ }\n")
        #expect(result.issues.map(\.field) == ["trip", "trip"])
        #expect(result.issues.map(\.line) == [1, 2])
    }
}
