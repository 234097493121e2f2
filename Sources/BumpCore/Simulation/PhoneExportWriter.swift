/// Writes one trip's rows the way a phone app or research logger would, quirks included, so
/// tests and benchmarks can feed every reader the same trip (no one's real recordings are
/// copied into the repository).
///
/// Each style produces a set of files (paths relative to the recording's folder):
/// - `sensorLoggerAndroid`: `TotalAcceleration.csv` (`time,seconds_elapsed,z,y,x`, ns, with
///   an extra column, a few rows swapped and one duplicated), `Location.csv` (columns in the
///   app's reverse order, an invalid fix with negative accuracy), `Gyroscope.csv` (ignored),
///   `Metadata.csv`;
/// - `sensorLoggerIOS`: `Accelerometer.csv` without gravity plus `Gravity.csv`, both with iOS's
///   opposite axis signs (not standardised), and the same `Location.csv`;
/// - `physicsToolbox`: `time,gFx,gFy,gFz,TgF,…` in g with `HH:MM:SS:ffff` times and the last
///   fix repeated on every row; `physicsToolboxDecimalComma`: `;` and decimal commas, dated times;
/// - `phyphox` / `phyphoxDecimalComma`: `Accelerometer.csv` and `Location.csv` with quoted
///   unit headers, seconds since start, `NaN`s, and `meta/time.csv`;
/// - `gpx`: `track.gpx` plus an accelerometer-only canonical CSV `accel.csv`;
/// - `columns`: a research CSV in g and ms with `-1`/`-100` sentinels and repeated fixes, read
///   with `columnsMap` and the units in `columnsFlags`.
public struct PhoneExportWriter {
    /// The dialect to write.
    public enum Style: String, Sendable, CaseIterable {
        case sensorLoggerAndroid, sensorLoggerIOS, physicsToolbox, physicsToolboxDecimalComma, phyphox, phyphoxDecimalComma, gpx, columns

        /// The format streetbump should recognise the output as.
        public var format: TraceFormat {
            switch self {
            case .sensorLoggerAndroid, .sensorLoggerIOS: .sensorLogger
            case .physicsToolbox, .physicsToolboxDecimalComma: .physicsToolbox
            case .phyphox, .phyphoxDecimalComma: .phyphox
            case .gpx: .gpx
            case .columns: .columns
            }
        }
    }

    /// The `--columns` map that reads the `columns` style.
    public static let columnsMap = "t=timestamp_ms,ax=acc_x_g,ay=acc_y_g,az=acc_z_g,lat=gps_lat,lon=gps_lng,speed=gps_speed,accuracy=gps_hacc"
    /// The unit flags that go with `columnsMap`.
    public static let columnsFlags = ["--accel-unit", "g", "--time-unit", "ms", "--missing", "-1,-100"]

    public let style: Style
    /// Epoch ms the recording started at (phyphox counts from it; Sensor Logger's seconds_elapsed).
    public let start: Double
    /// The files so far, by relative path. Take them with `takeFiles` to bound memory.
    public private(set) var files: [String: [UInt8]] = [:]
    private var lastFix: TraceRow?
    private var gravity: (Double, Double, Double)?
    private var accelerationRows = 0
    private var heldRow: [UInt8]?
    private var wroteInvalidFix = false
    private var lastAccelerationLine: [UInt8] = []

    /// - Parameter start: epoch milliseconds of the recording's start (at or before its first row).
    public init(style: Style, start: Double) {
        self.style = style
        self.start = start
        writeHeaders()
    }

    /// Hands over what was written so far (appending to the same paths continues the files).
    public mutating func takeFiles() -> [String: [UInt8]] {
        defer { for key in files.keys { files[key]!.removeAll(keepingCapacity: true) } }
        return files
    }

    // MARK: Headers

    private mutating func writeHeaders() {
        switch style {
        case .sensorLoggerAndroid:
            put("TotalAcceleration.csv", "time,seconds_elapsed,z,y,x,accuracy\n")
            put("Gyroscope.csv", "time,seconds_elapsed,z,y,x\n")
            put("Location.csv", Self.sensorLoggerLocationHeader)
            put("Metadata.csv", "version,device name,recording time,platform,appVersion,standardisation\n2,Pixel 7,2026-05-28_20-26-40,android,1.40.1,false\n")
        case .sensorLoggerIOS:
            put("Accelerometer.csv", "time,seconds_elapsed,z,y,x\n")
            put("Gravity.csv", "time,seconds_elapsed,z,y,x\n")
            put("Location.csv", Self.sensorLoggerLocationHeader)
            put("Metadata.csv", "version,device name,recording time,platform,appVersion,standardisation\n2,iPhone 15,2026-05-28_20-26-40,ios,1.40.1,false\n")
        case .physicsToolbox:
            put("physics-toolbox.csv", "time,gFx,gFy,gFz,TgF,Latitude,Longitude,Speed (m/s),Accuracy (m)\n")
        case .physicsToolboxDecimalComma:
            put("physics-toolbox.csv", "time;gFx;gFy;gFz;TgF;Latitude;Longitude;Speed (m/s);Accuracy (m)\n")
        case .phyphox, .phyphoxDecimalComma:
            let s = style == .phyphox ? "," : ";"
            put("Accelerometer.csv", ["\"Time (s)\"", "\"Acceleration x (m/s^2)\"", "\"Acceleration y (m/s^2)\"", "\"Acceleration z (m/s^2)\"", "\"Absolute acceleration (m/s^2)\""].joined(separator: s) + "\n")
            put("Location.csv", ["\"Time (s)\"", "\"Latitude (°)\"", "\"Longitude (°)\"", "\"Height (m)\"", "\"Velocity (m/s)\"", "\"Direction (°)\"", "\"Horizontal Accuracy (m)\"", "\"Vertical Accuracy (m)\""].joined(separator: s) + "\n")
            var system: [UInt8] = []
            TraceWriter.appendFixed(start / 1000, places: 3, to: &system)
            let systemText = style == .phyphox ? String(decoding: system, as: UTF8.self) : String(decoding: system, as: UTF8.self).replacing(".", with: ",")
            put("meta/time.csv", ["\"event\"", "\"experiment time\"", "\"system time\"", "\"system time text\""].joined(separator: s) + "\n"
                + ["START", "0", systemText, "2026-05-28 20:26:40.000 UTC+00:00"].joined(separator: s) + "\n")
        case .gpx:
            put("track.gpx", """
                <?xml version="1.0" encoding="UTF-8"?>
                <gpx version="1.1" creator="streetbump simulate" xmlns="http://www.topografix.com/GPX/1/1" xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2">
                  <trk><name>simulated</name><trkseg>

                """)
            put("accel.csv", "t,ax,ay,az\n")
        case .columns:
            put("research.csv", "timestamp_ms,acc_x_g,acc_y_g,acc_z_g,gps_lat,gps_lng,gps_speed,gps_hacc,battery\n")
        }
    }

    static let sensorLoggerLocationHeader = "time,seconds_elapsed,bearingAccuracy,speedAccuracy,verticalAccuracy,horizontalAccuracy,speed,bearing,altitude,longitude,latitude\n"

    // MARK: Rows

    /// Writes one row of the trip (rows must come in time order).
    public mutating func append(_ row: TraceRow) {
        if row.hasFix { appendFix(row) }
        if row.hasAcceleration { appendAcceleration(row) }
    }

    /// Ends the files (closing elements, a held-back row).
    public mutating func finish() {
        if let held = heldRow {
            append("TotalAcceleration.csv", held)
            heldRow = nil
        }
        if style == .gpx { put("track.gpx", "  </trkseg></trk>\n</gpx>\n") }
    }

    private mutating func appendFix(_ row: TraceRow) {
        switch style {
        case .sensorLoggerAndroid, .sensorLoggerIOS:
            if !wroteInvalidFix, lastFix != nil {
                // An invalid fix between two real ones: negative accuracy, nonsense position.
                wroteInvalidFix = true
                put("Location.csv", nanos(row.t - 300) + "," + secondsElapsed(row.t - 300) + ",0,-1,-1,-1.0,-1,-1,0,12.5,45.25\n")
            }
            var line = nanos(row.t) + "," + secondsElapsed(row.t) + ",0,0.5,3.2,"
            line += fixed(row.accuracy, 1) + "," + fixed(row.speed, 2) + ",90.0,12.3,"
            line += fixed(row.lon, 7) + "," + fixed(row.lat, 7) + "\n"
            put("Location.csv", line)
        case .phyphox, .phyphoxDecimalComma:
            let values = [
                fixed((row.t - start) / 1000, 4), fixed(row.lat, 7), fixed(row.lon, 7), "NaN",
                row.speed.isNaN ? "NaN" : fixed(row.speed, 2), "NaN", row.accuracy.isNaN ? "NaN" : fixed(row.accuracy, 1), "NaN",
            ]
            put("Location.csv", phyphoxLine(values))
        case .gpx:
            var line = "    <trkpt lat=\"\(fixed(row.lat, 7))\" lon=\"\(fixed(row.lon, 7))\"><ele>12.3</ele><time>\(isoTime(row.t))</time>"
            if !row.speed.isNaN {
                line += "<extensions><gpxtpx:TrackPointExtension><gpxtpx:speed>\(fixed(row.speed, 2))</gpxtpx:speed></gpxtpx:TrackPointExtension></extensions>"
            }
            put("track.gpx", line + "</trkpt>\n")
        case .physicsToolbox, .physicsToolboxDecimalComma, .columns:
            break  // written on the next acceleration rows, repeated until the next fix
        }
        lastFix = row
    }

    private mutating func appendAcceleration(_ row: TraceRow) {
        accelerationRows += 1
        switch style {
        case .sensorLoggerAndroid:
            let line = Array((nanos(row.t) + "," + secondsElapsed(row.t) + "," + fixed(row.az, 4) + "," + fixed(row.ay, 4) + "," + fixed(row.ax, 4) + ",3\n").utf8)
            put("Gyroscope.csv", nanos(row.t) + "," + secondsElapsed(row.t) + ",0.01,-0.02,0.003\n")
            // Sensors deliver in batches: now and then two rows arrive swapped, or one twice.
            if let held = heldRow {
                append("TotalAcceleration.csv", line)
                append("TotalAcceleration.csv", held)
                heldRow = nil
            } else if accelerationRows % 997 == 0 {
                heldRow = line
            } else {
                append("TotalAcceleration.csv", line)
                if accelerationRows % 1499 == 0 { append("TotalAcceleration.csv", line) }
            }
        case .sensorLoggerIOS:
            // CoreMotion splits acceleration into gravity (slowly varying) and the user's part.
            let a = 0.02
            var g = gravity ?? (row.ax, row.ay, row.az)
            g = (g.0 + a * (row.ax - g.0), g.1 + a * (row.ay - g.1), g.2 + a * (row.az - g.2))
            gravity = g
            let user = (row.ax - g.0, row.ay - g.1, row.az - g.2)
            let prefix = nanos(row.t) + "," + secondsElapsed(row.t) + ","
            // iOS axes point the other way: negate everything.
            put("Gravity.csv", prefix + fixed(-g.2, 6) + "," + fixed(-g.1, 6) + "," + fixed(-g.0, 6) + "\n")
            put("Accelerometer.csv", prefix + fixed(-user.2, 6) + "," + fixed(-user.1, 6) + "," + fixed(-user.0, 6) + "\n")
        case .physicsToolbox, .physicsToolboxDecimalComma:
            let g = DelimitedLayout.standardGravity
            let total = (row.ax * row.ax + row.ay * row.ay + row.az * row.az).squareRoot() / g
            var values = [clockTime(row.t), fixed(row.ax / g, 7), fixed(row.ay / g, 7), fixed(row.az / g, 7), fixed(total, 3)]
            if let fix = lastFix {
                values += [fixed(fix.lat, 7), fixed(fix.lon, 7), fix.speed.isNaN ? "" : fixed(fix.speed, 2), fix.accuracy.isNaN ? "" : fixed(fix.accuracy, 1)]
            } else {
                values += ["", "", "", ""]
            }
            let comma = style == .physicsToolboxDecimalComma
            put("physics-toolbox.csv", (comma ? values.map { $0.replacing(".", with: ",") } : values).joined(separator: comma ? ";" : ",") + "\n")
        case .phyphox, .phyphoxDecimalComma:
            let total = (row.ax * row.ax + row.ay * row.ay + row.az * row.az).squareRoot()
            put("Accelerometer.csv", phyphoxLine([fixed((row.t - start) / 1000, 4), fixed(row.ax, 4), fixed(row.ay, 4), fixed(row.az, 4), fixed(total, 4)]))
        case .gpx:
            put("accel.csv", fixed(row.t, 1) + "," + fixed(row.ax, 4) + "," + fixed(row.ay, 4) + "," + fixed(row.az, 4) + "\n")
        case .columns:
            let g = DelimitedLayout.standardGravity
            var line = fixed(row.t, 1) + "," + fixed(row.ax / g, 7) + "," + fixed(row.ay / g, 7) + "," + fixed(row.az / g, 7) + ","
            if let fix = lastFix {
                line += fixed(fix.lat, 7) + "," + fixed(fix.lon, 7) + "," + (fix.speed.isNaN ? "-1" : fixed(fix.speed, 2)) + ","
                line += (fix.accuracy.isNaN ? "-100" : fixed(fix.accuracy, 1))
            } else {
                line += "-1,-1,-1,-100"
            }
            put("research.csv", line + ",87\n")
        }
    }

    // MARK: Text

    private func phyphoxLine(_ values: [String]) -> String {
        style == .phyphox ? values.joined(separator: ",") + "\n" : values.map { $0.replacing(".", with: ",") }.joined(separator: ";") + "\n"
    }

    private func fixed(_ v: Double, _ places: Int) -> String { TraceWriter.fixed(v, places: places) }

    private func nanos(_ t: Double) -> String {
        var out: [UInt8] = []
        TraceWriter.appendInteger(UInt64((t * 10).rounded()), to: &out)
        return String(decoding: out, as: UTF8.self) + "00000"
    }

    private func secondsElapsed(_ t: Double) -> String { fixed((t - start) / 1000, 6) }

    /// `HH:MM:SS:ffff` (UTC time of day), or `YYYY-MM-DD HH:MM:SS.ffff` for the decimal-comma style.
    private func clockTime(_ t: Double) -> String {
        let c = clock(t)
        if style == .physicsToolboxDecimalComma { return c.date + " " + c.time + "." + c.fraction }
        return c.time + ":" + c.fraction
    }

    private func isoTime(_ t: Double) -> String {
        let c = clock(t)
        return c.date + "T" + c.time + "." + c.fraction + "Z"
    }

    /// Epoch ms as UTC date, `HH:MM:SS` and ten-thousandths of a second.
    private func clock(_ t: Double) -> (date: String, time: String, fraction: String) {
        let tenths = Int((t * 10).rounded())
        let dayTenths = tenths % 864_000_000
        let h = dayTenths / 36_000_000, m = dayTenths / 600_000 % 60, s = dayTenths / 10_000 % 60
        let day = Timestamp.civil(days: tenths / 864_000_000)
        return (pad(day.year, 4) + "-" + pad(day.month, 2) + "-" + pad(day.day, 2), pad(h, 2) + ":" + pad(m, 2) + ":" + pad(s, 2),
                pad(dayTenths % 10_000, 4))
    }

    private func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    private mutating func put(_ path: String, _ text: String) {
        files[path, default: []].append(contentsOf: text.utf8)
    }

    private mutating func append(_ path: String, _ bytes: [UInt8]) {
        files[path, default: []].append(contentsOf: bytes)
    }
}
