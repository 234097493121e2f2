import Testing

@testable import BumpCore

// Quirks of each phone format, read through the pure readers (no files): decimal commas,
// NaN, negative accuracy, unsorted and duplicated sensor rows, extra and reordered columns,
// iOS's sign flip, clock times, sentinels and repeated fixes, GPX, unknown headers.

private struct Rows: TraceRowSink {
    var rows: [TraceRow] = []
    mutating func accept(_ row: TraceRow, trip: Int) { rows.append(row) }
}

/// Calls `body` with the bytes of `chunk` (withUnsafeBytes does not forward typed throws).
private func withBytes(_ chunk: [UInt8], _ body: (UnsafeRawBufferPointer) throws(TraceReadError) -> Void) throws(TraceReadError) {
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

/// Reads `text` with `layout`, fed in chunks of `chunk` bytes.
private func readDelimited(_ text: String, _ layout: DelimitedLayout, chunk: Int = 1 << 20) throws -> (rows: [TraceRow], reader: DelimitedTraceReader) {
    var reader = DelimitedTraceReader(layout: layout, source: "f.csv", defaultTrip: "f")
    var sink = Rows()
    let bytes = Array(text.utf8)
    for start in stride(from: 0, to: bytes.count, by: chunk) {
        try withBytes(Array(bytes[start..<min(start + chunk, bytes.count)])) { (raw) throws(TraceReadError) in try reader.consume(raw, into: &sink) }
    }
    try reader.finish(into: &sink)
    return (sink.rows, reader)
}

private func recognize(_ name: String, _ text: String, forcing: TraceFormat? = nil) -> TraceRecognition {
    Array(text.utf8).withUnsafeBytes { TraceRecognizer.recognize(name: name, head: $0, forcing: forcing) }
}

private func layoutOf(_ recognition: TraceRecognition) -> DelimitedLayout? {
    if case .delimited(_, let layout) = recognition { return layout }
    return nil
}

private func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool { abs(a - b) <= tolerance }

/// Field-by-field equality where NaN equals NaN.
private func same(_ a: [TraceRow], _ b: [TraceRow]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in
        zip([x.t, x.ax, x.ay, x.az, x.lat, x.lon, x.speed, x.accuracy], [y.t, y.ax, y.ay, y.az, y.lat, y.lon, y.speed, y.accuracy])
            .allSatisfy { $0.isNaN ? $1.isNaN : $0 == $1 }
    }
}

@Suite struct PhysicsToolboxTests {
    @Test func semicolonsDecimalCommasClockTimesAndG() throws {
        let text = "time;gFx;gFy;gFz;TgF\n12:03:45:1234;0,5;-0,25;1,0;1,1\n12:03:45:1334;0,5;-0,25;1;1,1\n"
        let recognition = recognize("pt.csv", text)
        #expect(recognition.format == .physicsToolbox)
        let (rows, reader) = try readDelimited(text, try #require(layoutOf(recognition)))
        #expect(reader.issues.isEmpty, "\(reader.issues)")
        #expect(rows.count == 2)
        let expected: Double = (12 * 3600 + 3 * 60 + 45.1234) * 1000
        #expect(close(rows[0].t, expected, 1e-6))
        #expect(close(rows[1].t - rows[0].t, 10, 1e-6))
        #expect(close(rows[0].ax, 0.5 * 9.80665) && close(rows[0].ay, -0.25 * 9.80665) && close(rows[0].az, 9.80665))
    }

    @Test func datedTimesAreEpochAndMidnightWrapsWithoutADate() throws {
        let dated = "time,gFx,gFy,gFz,TgF\n2018-10-03 17:23:55.4640,0.035,-0.517,-0.821,0.971\n"
        let (rows, _) = try readDelimited(dated, try #require(layoutOf(recognize("a.csv", dated))))
        #expect(rows.first?.t == 1_538_587_435_464)
        let wrap = "time,gFx,gFy,gFz\n23:59:59:9000,0,0,1\n00:00:00:1000,0,0,1\n"
        let (wrapped, _) = try readDelimited(wrap, try #require(layoutOf(recognize("b.csv", wrap))))
        #expect(wrapped.count == 2)
        #expect(close(wrapped[1].t - wrapped[0].t, 200, 1e-6), "the clock passed midnight: the next day")
    }

    @Test func gpsRepeatedOnEveryRowCountsOnceAndSpeedIsKept() throws {
        let text = """
            time,gFx,gFy,gFz,TgF,Latitude,Longitude,Speed (m/s),Accuracy (m)
            10:00:00:0000,0,0,1,1,,,,
            10:00:00:0100,0,0,1,1,42.1,-71.2,5.5,4
            10:00:00:0200,0,0,1,1,42.1,-71.2,5.5,4
            10:00:01:0100,0,0,1,1,42.10001,-71.2,5.6,4

            """
        let (rows, reader) = try readDelimited(text, try #require(layoutOf(recognize("c.csv", text))))
        #expect(reader.issues.isEmpty)
        #expect(rows.map(\.hasFix) == [false, true, false, true])
        #expect(rows.allSatisfy { $0.hasAcceleration })
        #expect(rows[1].speed == 5.5 && rows[1].accuracy == 4)
    }
}

@Suite struct PhyphoxTests {
    @Test func quotedUnitHeadersAndNaN() throws {
        let text = "\"Time (s)\",\"Acceleration x (m/s^2)\",\"Acceleration y (m/s^2)\",\"Acceleration z (m/s^2)\",\"Absolute acceleration (m/s^2)\"\n"
            + "0.0,0.1,0.2,9.8,9.8\n1.5E-2,NaN,NaN,NaN,NaN\n0.02,0.1,NaN,9.8,9.8\n"
        let recognition = recognize("Accelerometer.csv", text)
        #expect(recognition.format == .phyphox)
        let (rows, reader) = try readDelimited(text, try #require(layoutOf(recognition)))
        #expect(rows.count == 1 && rows[0].t == 0 && rows[0].az == 9.8)
        #expect(reader.stats.rejectedRows == 2, "a row of NaN and a half row are not readings")
        #expect(reader.issues.last?.reason.contains("incomplete acceleration") == true)
    }

    @Test func semicolonDecimalCommaLocationWithDerivedSpeed() throws {
        let text = "\"Time (s)\";\"Latitude (°)\";\"Longitude (°)\";\"Height (m)\";\"Velocity (m/s)\";\"Direction (°)\";\"Horizontal Accuracy (m)\";\"Vertical Accuracy (m)\"\n"
            + "1,0;42,1;-71,2;NaN;NaN;NaN;5,5;NaN\n2,0;42,1001;-71,2;NaN;NaN;NaN;5,5;NaN\n"
        var layout = try #require(layoutOf(recognize("Location.csv", text)))
        layout.timeOffset = 1_780_000_000_000
        let (rows, reader) = try readDelimited(text, layout)
        #expect(reader.issues.isEmpty, "\(reader.issues)")
        #expect(rows.count == 2 && rows[0].t == 1_780_000_001_000 && rows[1].accuracy == 5.5)
        #expect(rows[0].speed.isNaN)
        #expect(close(rows[1].speed, 11.1, 0.1), "speed from the distance to the previous fix: \(rows[1].speed)")
    }

    @Test func accelerationWithoutGravityIsRefusedWithAReason() {
        let text = "\"Time (s)\",\"Linear Acceleration x (m/s^2)\",\"Linear Acceleration y (m/s^2)\",\"Linear Acceleration z (m/s^2)\"\n"
        guard case .unknown(let why) = recognize("x.csv", text) else { Issue.record("recognised"); return }
        #expect(why.description.contains("Acceleration with g"))
    }

    @Test func startOffsetFromMetaTime() {
        let csv = "\"event\";\"experiment time\";\"system time\";\"system time text\"\nSTART;0,000000000E0;1,780000000500E9;2026-05-28\n"
        #expect(PhyphoxFormat.startOffset(timeCSV: Array(csv.utf8)) == 1_780_000_000_500)
    }
}

@Suite struct SensorLoggerTests {
    @Test func locationColumnsByNameAndNegativeAccuracyIsNoFix() throws {
        let text = """
            time,seconds_elapsed,bearingAccuracy,speedAccuracy,verticalAccuracy,horizontalAccuracy,speed,bearing,altitude,longitude,latitude,newColumn
            1780000000000000000,0.1,0,0.5,3,4.5,10.5,90,12,-71.2,42.1,x
            1780000001000000000,1.1,0,-1,-1,-1,-1,-1,0,0.0,0.0,x
            1780000002000000000,2.1,0,0.5,3,4.5,-1,90,12,-71.2002,42.1,x

            """
        let recognition = recognize("Location.csv", text)
        #expect(recognition.format == .sensorLogger)
        let (rows, reader) = try readDelimited(text, try #require(layoutOf(recognition)))
        #expect(reader.issues.isEmpty, "\(reader.issues)")
        #expect(rows.count == 2, "the invalid fix (negative accuracy, 0,0) is dropped without complaint")
        #expect(rows[0].t == 1_780_000_000_000 && rows[0].lat == 42.1 && rows[0].lon == -71.2 && rows[0].speed == 10.5 && rows[0].accuracy == 4.5)
        #expect(close(rows[1].speed, 8.3, 0.1), "negative speed is unknown, so it is derived: \(rows[1].speed)")
    }

    @Test func aRepeatedPositionIsARealFixForSensorLoggerAndPhyphox() throws {
        let sensorLogger = "time,seconds_elapsed,horizontalAccuracy,speed,longitude,latitude\n"
            + "1780000000000000000,0,4,0,-71.2,42.1\n1780000001000000000,1,4,0,-71.2,42.1\n1780000002000000000,2,4,0,-71.2,42.1\n"
        let (rows, _) = try readDelimited(sensorLogger, SensorLoggerFormat.locationLayout)
        #expect(rows.map(\.hasFix) == [true, true, true], "a car standing still: every fix counts")
        let phyphox = "\"Time (s)\",\"Latitude (°)\",\"Longitude (°)\"\n1,42.1,-71.2\n2,42.1,-71.2\n"
        let (phyphoxRows, _) = try readDelimited(phyphox, try #require(layoutOf(recognize("Location.csv", phyphox))))
        #expect(phyphoxRows.map(\.hasFix) == [true, true])
        #expect(PhysicsToolboxFormat.layout(header: ["time", "gFx", "gFy", "gFz", "Latitude", "Longitude"])?.repeatsFixes == true)
    }

    @Test func iOSWithoutStandardisationFlipsEveryAxis() throws {
        let ios = SensorLoggerFormat.Metadata(csv: Array("version,device name,recording time,platform,standardisation\n2,iPhone,x,ios,false\n".utf8))
        #expect(ios.platform == "ios" && ios.needsSignFlip && ios.device == "iPhone")
        let standardised = SensorLoggerFormat.Metadata(csv: Array("platform,standardisation\niOS,true\n".utf8))
        #expect(!standardised.needsSignFlip)
        #expect(!SensorLoggerFormat.Metadata(csv: Array("platform\nandroid\n".utf8)).needsSignFlip)

        let text = "time,seconds_elapsed,z,y,x\n1780000000000000000,0,-9.8,0.5,-0.25\n"
        let (rows, _) = try readDelimited(text, SensorLoggerFormat.accelerationLayout(flipped: true))
        #expect(same(rows, [TraceRow(t: 1_780_000_000_000, ax: 0.25, ay: -0.5, az: 9.8)]), "z, y, x read by name, all negated")
    }

    @Test func aLoneAccelerometerFileIsOnlyPartOfARecording() {
        guard case .unknown(let why) = recognize("Accelerometer.csv", "time,seconds_elapsed,z,y,x\n") else { Issue.record("recognised"); return }
        #expect(why.description.contains("whole export folder or zip"))
    }
}

@Suite struct TimeMergeTests {
    @Test func unsortedAndDuplicatedRowsComeOutInOrderMergedWithFixes() {
        var merge = TimeMerge(roles: [.rows, .rows], holdback: 50)
        var sink = Rows()
        let acceleration = [0.0, 10, 30, 20, 40, 40, 50, 60, 70, 80, 90, 100].map { TraceRow(t: $0, ax: 0, ay: 0, az: 9.8) }
        let fixes = [25.0, 75].map { TraceRow(t: $0, lat: 42, lon: -71) }
        // Fed as a reader would: a chunk of each stream when the merge asks for it.
        var a = acceleration[...], f = fixes[...]
        while let i = merge.streamToRead {
            if i == 0 {
                if a.isEmpty { merge.close(stream: 0) } else { for row in a.prefix(3) { merge.push(row, stream: 0) }; a = a.dropFirst(3) }
            } else {
                if f.isEmpty { merge.close(stream: 1) } else { merge.push(f.first!, stream: 1); f = f.dropFirst() }
            }
            merge.release(into: &sink)
        }
        merge.release(into: &sink)
        #expect(sink.rows.map(\.t) == [0, 10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 100])
        #expect(merge.duplicates == 1)
    }

    @Test func aStreamWhoseTimesBarelyAdvanceIsNotHeldInFull() {
        var merge = TimeMerge(roles: [.rows], holdback: 1_000, maxHeld: 100)
        var sink = Rows()
        for k in 0..<1_000 {
            merge.push(TraceRow(t: 1_000 + Double(k) * 0.001, ax: 0, ay: 0, az: 9.8), stream: 0)
            merge.release(into: &sink)
        }
        #expect(sink.rows.count == 900, "all but the last 100 passed on before the end: \(sink.rows.count)")
        merge.close(stream: 0)
        merge.release(into: &sink)
        #expect(sink.rows.count == 1_000 && merge.overflowed == 900 && merge.late == 0)
        #expect(zip(sink.rows, sink.rows.dropFirst()).allSatisfy { $0.t < $1.t }, "still in order")
        var buffer = ReorderBuffer<Int>(holdback: 10, maxHeld: 3)
        for t in [5.0, 1, 2, 3] { buffer.insert(t, 0) }
        #expect(buffer.popReady()?.t == 1 && buffer.overflowed == 1 && buffer.count == 3)
    }

    @Test func gravityIsAddedToAccelerationWithoutIt() {
        var merge = TimeMerge(roles: [.userAcceleration, .gravity])
        var sink = Rows()
        for t in [0.0, 10, 20] {
            merge.push(TraceRow(t: t, ax: 0.5, ay: 0, az: 0.5), stream: 0)
            merge.push(TraceRow(t: t, ax: 0, ay: 0, az: 9.75 + t), stream: 1)
        }
        merge.close(stream: 0)
        merge.close(stream: 1)
        merge.release(into: &sink)
        #expect(sink.rows.map(\.az) == [10.25, 20.25, 30.25], "each row gets the gravity of its own time: \(sink.rows.map(\.az))")
        #expect(sink.rows.allSatisfy { $0.ax == 0.5 })
    }
}

@Suite struct ColumnMapTests {
    @Test func sentinelsRepeatedFixesUnitsAndExtraColumns() throws {
        let layout = try DelimitedLayout(columnMap: "t=timestamp, ax=accX,ay=accY,az=accZ,lat=latitude,lon=longitude,speed=speed,accuracy=hacc",
                                         accelerationUnit: "g", timeUnit: "ms", missing: "-1,-100")
        let text = """
            battery\ttimestamp\taccX\taccY\taccZ\tlatitude\tlongitude\tspeed\thacc
            80\t1000\t0\t0\t1\t-1\t-1\t-1\t-100
            80\t1010\t0\t0\t1\t42.1\t-71.2\t5\t-100
            80\t1020\t0\t0\t1\t42.1\t-71.2\t5\t-100
            80\t1030\t0,5\t0\t1\t42.2\t-71.2\t-1\t3

            """
        let (rows, reader) = try readDelimited(text, layout)
        #expect(reader.issues.isEmpty, "\(reader.issues)")
        #expect(rows.map(\.t) == [1000, 1010, 1020, 1030])
        #expect(rows.map(\.hasFix) == [false, true, false, true], "sentinel = no fix; a repeated fix is the same fix")
        #expect(rows[1].accuracy.isNaN && rows[1].speed == 5)
        #expect(close(rows[3].ax, 0.5 * 9.80665), "decimal comma with a tab separator, in g")
        #expect(!rows[3].speed.isNaN && rows[3].accuracy == 3)
    }

    @Test func badMapsSayWhatIsWrong() {
        func message(_ map: String, accel: String? = nil, time: String? = nil, missing: String? = nil) -> String {
            do {
                _ = try DelimitedLayout(columnMap: map, accelerationUnit: accel, timeUnit: time, missing: missing)
                return ""
            } catch { return error.description }
        }
        #expect(message("ax=a,ay=b,az=c").contains("needs t=COLUMN"))
        #expect(message("t=a,ax=b").contains("map ax, ay, az together"))
        #expect(message("t=a,lat=b,lon=c,alt=d").contains("unknown field 'alt'"))
        #expect(message("t=a,lat=b,lon=c", accel: "ft/s2").contains("is not g or m/s2"))
        #expect(message("t=a,lat=b,lon=c", time: "days").contains("is not s, ms, us, ns or clock"))
        #expect(message("t=a,lat=b,lon=c", missing: "none").contains("is not a number"))
    }

    @Test func aMissingColumnIsAHeaderError() throws {
        let layout = try DelimitedLayout(columnMap: "t=ts,lat=la,lon=lo")
        #expect(throws: TraceReadError.self) { try readDelimited("ts,la,long\n1,2,3\n", layout) }
        do {
            _ = try readDelimited("ts,la,long\n1,2,3\n", layout)
        } catch {
            #expect((error as? TraceReadError)?.message == "column 'lo' (for lon) is not in the header; the header has: ts, la, long")
        }
    }

    @Test func aZeroTimeFirstThenEpochTimesKeepsTheOrder() throws {
        let layout = try DelimitedLayout(columnMap: "t=ts,ax=x,ay=y,az=z")
        let (rows, reader) = try readDelimited("ts,x,y,z\n0,1,2,3\n1717171717000,1,2,3\n1717171717010,1,2,3\n", layout)
        #expect(rows.map(\.t) == [0, 1717171717000, 1717171717010], "the held row goes first, not last")
        #expect(!reader.notes.joined().contains("times since the start"), "\(reader.notes)")
    }

    @Test func aQuotedIgnoredFieldWithTheSeparatorDoesNotShiftColumns() throws {
        let layout = try DelimitedLayout(columnMap: "t=ts,ax=x,ay=y,az=z", timeUnit: "ms")
        let text = "ts,note,x,y,z\n1000,\"pothole, big\",0.5,0.25,9.5\n1010, \"say \"\"hi\"\", then\" ,1,2,3\n1020,plain,4,5,6\n"
        let (rows, reader) = try readDelimited(text, layout)
        #expect(reader.issues.isEmpty, "\(reader.issues)")
        #expect(same(rows, [TraceRow(t: 1000, ax: 0.5, ay: 0.25, az: 9.5), TraceRow(t: 1010, ax: 1, ay: 2, az: 3), TraceRow(t: 1020, ax: 4, ay: 5, az: 6)]))
        let (_, unterminated) = try readDelimited("ts,note,x,y,z\n1000,\"open,0,0,1\n", layout)
        #expect(unterminated.issues.first?.field == "note" && unterminated.issues.first?.reason == "unterminated quote", "\(unterminated.issues)")
    }

    @Test func quotedDecimalCommasInACommaSeparatedFile() throws {
        let text = "\"Time (s)\",\"Acceleration x (m/s^2)\",\"Acceleration y (m/s^2)\",\"Acceleration z (m/s^2)\"\n"
            + "\"0,01\",\"0,5\",\"-0,25\",\"9,8\"\n0.02,0.5,-0.25,9.8\n"
        let (rows, reader) = try readDelimited(text, try #require(layoutOf(recognize("a.csv", text))))
        #expect(reader.issues.isEmpty, "\(reader.issues)")
        #expect(same(rows, [TraceRow(t: 10, ax: 0.5, ay: -0.25, az: 9.8), TraceRow(t: 20, ax: 0.5, ay: -0.25, az: 9.8)]))
        // Unquoted, a comma is the separator: "0,5" is two fields, not a number.
        let (_, plain) = try readDelimited("t,ax,ay,az\n1,\"1,2,3\",0,0\n", try DelimitedLayout(columnMap: "t=t,ax=ax,ay=ay,az=az", timeUnit: "s"))
        #expect(plain.issues.first?.field == "ax", "\(plain.issues)")
    }

    @Test func aTimeThatOverflowsOnceConvertedIsARowIssue() throws {
        let layout = try DelimitedLayout(columnMap: "t=time_s,ax=x,ay=y,az=z", timeUnit: "s")
        let (rows, reader) = try readDelimited("time_s,x,y,z\n1e306,0,0,1\n1780000000,0,0,1\n", layout)
        #expect(rows.map(\.t) == [1_780_000_000_000], "the overflowing row is not passed on")
        #expect(reader.stats.rejectedRows == 1)
        #expect(reader.issues.first?.line == 2 && reader.issues.first?.field == "time_s", "\(reader.issues)")
        #expect(reader.issues.first?.reason.contains("out of range") == true, "\(reader.issues)")
    }

    @Test func relativeTimesInMillisecondsAreToldFromTheirSpacing() throws {
        let layout = try DelimitedLayout(columnMap: "t=ts,ax=x,ay=y,az=z")
        let ms = "ts,x,y,z\n" + (0..<40).map { "\($0 * 10),0,0,1\n" }.joined()
        let (rows, reader) = try readDelimited(ms, layout)
        #expect(rows.count == 40 && rows[1].t == 10 && rows[39].t == 390, "relative ms starting at 0 stay ms: \(rows.prefix(3).map(\.t))")
        #expect(reader.notes.first?.contains("milliseconds") == true, "\(reader.notes)")
        let seconds = "ts,x,y,z\n" + (0..<5).map { "\(Double($0) / 100),0,0,1\n" }.joined()
        let (secondRows, secondReader) = try readDelimited(seconds, layout, chunk: 7)
        #expect(secondRows.map(\.t) == [0, 10, 20, 30, 40], "relative seconds (fewer rows than the guess looks at): \(secondRows.map(\.t))")
        #expect(secondReader.notes.first?.contains("seconds") == true)
        let epoch = try readDelimited("ts,x,y,z\n1780000000000,0,0,1\n", layout)
        #expect(epoch.rows.first?.t == 1_780_000_000_000 && epoch.reader.notes.isEmpty)
        // A bad row among the held ones is reported on its own line.
        let (_, bad) = try readDelimited("ts,x,y,z\n0,0,0,1\n10,0,0\n20,0,0,1\n", layout)
        #expect(bad.issues.first?.line == 3, "\(bad.issues)")
    }

    @Test func chunkingDoesNotChangeTheResult() throws {
        let text = "\"Time (s)\";\"Acceleration x (m/s^2)\";\"Acceleration y (m/s^2)\";\"Acceleration z (m/s^2)\"\r\n"
            + (0..<200).map { "\($0),01;0,\($0);-9,8;NaN\r\n".replacing("NaN", with: "\($0 % 7),5") }.joined()
        let layout = try #require(layoutOf(recognize("a.csv", text)))
        let whole = try readDelimited(text, layout)
        for chunk in [1, 3, 17, 64] {
            let pieces = try readDelimited(text, layout, chunk: chunk)
            #expect(same(pieces.rows, whole.rows), "chunks of \(chunk)")
        }
        #expect(whole.rows.count == 200)
    }
}

@Suite struct GPXTests {
    private func read(_ text: String, chunk: Int = 1 << 20) throws -> (rows: [TraceRow], reader: GPXTrackReader) {
        var reader = GPXTrackReader(source: "t.gpx", defaultTrip: "t")
        var sink = Rows()
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            try withBytes(Array(bytes[start..<min(start + chunk, bytes.count)])) { (raw) throws(TraceReadError) in try reader.consume(raw, into: &sink) }
        }
        try reader.finish(into: &sink)
        return (sink.rows, reader)
    }

    private let track = """
        <?xml version="1.0"?>
        <gpx version="1.1"><trk><trkseg>
        <trkpt lat="42.1" lon="-71.2"><ele>3</ele><time>2026-05-28T20:00:00Z</time><speed>4.5</speed></trkpt>
        <trkpt lon='-71.2' lat='42.1001'><time>2026-05-28T22:00:01.5+02:00</time></trkpt>
        <trkpt lat="42.1002" lon="-71.2"><ele>3</ele></trkpt>
        <trkpt lat="42.1003" lon="-71.2"><time>2026-05-28T20:00:03Z</time><extensions><gpxtpx:TrackPointExtension><gpxtpx:speed>7.25</gpxtpx:speed></gpxtpx:TrackPointExtension></extensions></trkpt>
        </trkseg></trk></gpx>

        """

    @Test func pointsTimesOffsetsSpeedsAndIssues() throws {
        let (rows, reader) = try read(track)
        let t0 = Double(daysFromCivil(year: 2026, month: 5, day: 28)) * 86_400_000 + 20 * 3_600_000
        #expect(rows.map(\.t) == [t0, t0 + 1500, t0 + 3000])
        #expect(rows[0].speed == 4.5 && rows[2].speed == 7.25)
        #expect(close(rows[1].speed, 11.1 / 1.5, 0.1), "derived: \(rows[1].speed)")
        #expect(reader.issues.count == 1 && reader.issues[0].line == 5 && reader.issues[0].field == "time", "\(reader.issues)")
        for chunk in [1, 7, 50] { #expect(same(try read(track, chunk: chunk).rows, rows), "chunks of \(chunk)") }
    }

    @Test func whitespaceAroundAttributesAndLineCount() throws {
        let text = "<gpx>\n<trkpt\n    lat = \"42.1\"\n\tlon=\n'-71.2'><time>2026-05-28T20:00:00Z</time></trkpt>\n<trkpt lat=\"42.1\" lon=\"-71.2\"><time>2026-05-28T20:00:01Z</time></trkpt>\n</gpx>\n"
        let (rows, reader) = try read(text)
        #expect(reader.issues.isEmpty, "\(reader.issues)")
        #expect(rows.count == 2 && rows[0].lat == 42.1 && rows[0].lon == -71.2)
        #expect(rows[1].hasFix, "the same position again is a real fix in GPX")
        #expect(reader.stats.lines == 7, "7 lines, the last ended by its newline: \(reader.stats.lines)")
        #expect(try read("<gpx></gpx>").reader.stats.lines == 1)
        // Not an attribute: "xlat" and "lat" inside a value.
        let (_, tricky) = try read("<gpx><trkpt xlat=\"1\" lon=\"2\"><time>2026-05-28T20:00:00Z</time></trkpt></gpx>")
        #expect(tricky.issues.first?.field == "lat")
    }

    @Test func anUnendedPointIsRefusedInBoundedMemory() throws {
        var reader = GPXTrackReader(source: "t.gpx", defaultTrip: "t")
        var sink = Rows()
        let chunk = 64 << 10
        let junk = [UInt8](repeating: UInt8(ascii: "a"), count: chunk)
        var most = 0
        try withBytes(Array("<gpx><trkpt lat=\"".utf8)) { (raw) throws(TraceReadError) in try reader.consume(raw, into: &sink) }
        for _ in 0..<(5_000_000 / chunk) {
            try withBytes(junk) { (raw) throws(TraceReadError) in try reader.consume(raw, into: &sink) }
            most = max(most, reader.bufferedBytes)
        }
        try reader.finish(into: &sink)
        #expect(most <= reader.maxElementBytes + 2 * chunk, "held \(most) bytes")
        #expect(reader.issues.first?.reason.contains("longer than") == true, "\(reader.issues)")
        #expect(sink.rows.isEmpty)
        // Fed a byte at a time, a point is still searched once, not again from its start.
        let point = "<gpx><trkpt lat=\"42.1\" lon=\"-71.2\">" + String(repeating: " ", count: 40_000) + "<time>2026-05-28T20:00:00Z</time></trkpt></gpx>"
        let started = ContinuousClock.now
        let (rows, _) = try read(point, chunk: 1)
        #expect(rows.count == 1)
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test func notGPXIsAnError() {
        #expect(throws: TraceReadError.self) { try read("<html><body>hello</body></html>\n") }
    }
}

@Suite struct RecognitionTests {
    @Test func knownHeadersAndNames() {
        #expect(recognize("trip.csv", "t,ax,ay,az,lat,lon,speed,accuracy\n").format == .csv)
        #expect(recognize("x", "{\"trip\":\"a\"}\n").format == .ndjson)
        #expect(recognize("track.gpx", "<?xml version=\"1.0\"?>\n").format == .gpx)
        #expect(recognize("TotalAcceleration.csv.gz", "time,seconds_elapsed,z,y,x\n").format == .sensorLogger)
        #expect(recognize("x.csv", "\u{FEFF}\n\ntime,gFx,gFy,gFz,TgF\n").format == .physicsToolbox)
    }

    @Test func unknownHeaderSaysWhatItHasTheNearestFormatAndTheColumnsLine() {
        guard case .unknown(let why) = recognize("fleet.csv", "timestamp;accX (g);accY (g);accZ (g);latitude;longitude;gps_speed;hAccuracy\n1;2;3;4;5;6;7;8\n")
        else { Issue.record("recognised"); return }
        let text = why.description
        #expect(text.contains("header (8 columns): timestamp, accX (g), accY (g), accZ (g), latitude, longitude, gps_speed, hAccuracy"), "\(text)")
        #expect(text.contains("nearest known format: Sensor Logger"), "\(text)")
        #expect(text.contains("--columns 't=timestamp,ax=accX (g),ay=accY (g),az=accZ (g),lat=latitude,lon=longitude,speed=gps_speed,accuracy=hAccuracy' --accel-unit g"), "\(text)")
    }

    @Test func forcingAFormatThatDoesNotFitSaysSo() {
        guard case .unknown(let why) = recognize("a.csv", "t,ax,ay,az\n", forcing: .phyphox) else { Issue.record("read"); return }
        #expect(why.description.contains("--input phyphox"))
        #expect(recognize("a.txt", "time,gFx,gFy,gFz\n", forcing: .physicsToolbox).format == .physicsToolbox)
    }

    @Test func dataWithoutHeaderIsNotGuessed() {
        guard case .unknown(let why) = recognize("a.csv", "1717171717,0.1,0.2,9.8\n") else { Issue.record("read"); return }
        #expect(why.description.contains("the first line is not a header"))
    }
}
