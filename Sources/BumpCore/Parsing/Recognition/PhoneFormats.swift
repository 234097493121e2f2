// The phone apps streetbump reads, as layouts of `DelimitedTraceReader` recognised from their
// headers. What each app writes (and how it differs between platforms and locales) is
// described on each type; `PhoneExportWriter` writes the same quirks for the tests.

/// Sensor Logger (Kelvin Choi; Android and iOS) zip or folder exports: one CSV per sensor.
///
/// Every file starts `time,seconds_elapsed,…` with `time` in epoch nanoseconds; axis columns
/// come as `z,y,x` and newer app versions add columns, so columns are taken by name.
/// - `TotalAcceleration.csv`: acceleration including gravity, m/s² (preferred);
/// - `Accelerometer.csv`: acceleration without gravity, plus `Gravity.csv` (iOS; also Android);
/// - `Location.csv`: `latitude,longitude,speed,…,horizontalAccuracy` (negative = invalid);
/// - `Metadata.csv`: `platform` and, since 1.29, whether units and frames were standardised.
///   Without standardisation iOS axes point the opposite way to Android's on every axis
///   (gravity along -z when flat); streetbump uses Android's (+g up, like its own format),
///   so such iOS values are negated.
public enum SensorLoggerFormat {
    /// The files of an export that streetbump reads, by role.
    public enum File: String, Sendable, CaseIterable {
        case totalAcceleration = "TotalAcceleration.csv"
        case accelerometer = "Accelerometer.csv"
        case gravity = "Gravity.csv"
        case location = "Location.csv"
        case metadata = "Metadata.csv"

        /// The role of a file named `name` (case-insensitive, directories ignored), if any.
        public init?(fileName name: String) {
            let base = (name.split(separator: "/").last.map(String.init) ?? name).lowercased()
            guard let match = File.allCases.first(where: { $0.rawValue.lowercased() == base || $0.rawValue.lowercased() + ".gz" == base })
            else { return nil }
            self = match
        }
    }

    /// True for a header written by Sensor Logger (`time,seconds_elapsed,…`).
    public static func isSensorLoggerHeader(_ names: [String]) -> Bool {
        let n = names.map(normalizedHeaderName)
        return n.count >= 2 && n[0] == "time" && n[1] == "seconds_elapsed"
    }

    /// The layout of an acceleration or gravity file; `flipped` negates every axis (iOS
    /// without standardisation).
    public static func accelerationLayout(flipped: Bool) -> DelimitedLayout {
        DelimitedLayout(
            formatName: "Sensor Logger", columns: [.t: "time", .ax: "x", .ay: "y", .az: "z"],
            time: .number(.nanoseconds), accelerationScale: flipped ? -1 : 1, separator: UInt8(ascii: ","))
    }

    /// The layout of `Location.csv`.
    public static let locationLayout = DelimitedLayout(
        formatName: "Sensor Logger", columns: [.t: "time", .lat: "latitude", .lon: "longitude", .speed: "speed", .accuracy: "horizontalAccuracy"],
        time: .number(.nanoseconds), separator: UInt8(ascii: ","))

    /// What `Metadata.csv` says about the recording.
    public struct Metadata: Sendable, Equatable {
        /// "ios" or "android" (lower-case), nil when not given.
        public var platform: String?
        /// True when "Standardise Units & Frames" was on.
        public var standardised: Bool
        /// The device name, if given.
        public var device: String?

        /// True when acceleration must be negated to follow Android's (and streetbump's) axes.
        public var needsSignFlip: Bool { platform == "ios" && !standardised }

        public init(platform: String?, standardised: Bool, device: String? = nil) {
            self.platform = platform
            self.standardised = standardised
            self.device = device
        }

        /// Parses `Metadata.csv` (a header and one row; columns by name).
        public init(csv bytes: [UInt8]) {
            let text = String(decoding: bytes, as: UTF8.self)
            let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).map(String.init)
            var platform: String?, standardised = false, device: String?
            if lines.count >= 2 {
                let names = splitHeader(lines[0], separator: UInt8(ascii: ",")) ?? []
                let values = splitHeader(lines[1], separator: UInt8(ascii: ",")) ?? []
                for (name, value) in zip(names.map(normalizedHeaderName), values) {
                    let v = value.lowercased()
                    if name == "platform" { platform = v.isEmpty ? nil : v }
                    if name.hasPrefix("standardis") || name.hasPrefix("standardiz") {
                        standardised = ["true", "1", "yes", "on"].contains(v)
                    }
                    if name == "device name" || name == "devicename" { device = value.isEmpty ? nil : value }
                }
            }
            self.init(platform: platform, standardised: standardised, device: device)
        }
    }
}

/// Physics Toolbox Sensor Suite (Vieyra Software) CSV: `time,gFx,gFy,gFz,TgF` in g (the
/// g-force meter: gravity included, +1 g up when flat), optionally with GPS columns
/// (`Latitude,Longitude,Speed (m/s)`, …) repeated on every row between fixes. Times are
/// wall-clock: `HH:MM:SS:fff` on Android, `YYYY-MM-DD HH:MM:SS.ffff` on iOS. In locales with
/// a decimal comma the separator is `;`.
public enum PhysicsToolboxFormat {
    /// The layout for this header, or nil when it is not Physics Toolbox's.
    public static func layout(header names: [String]) -> DelimitedLayout? {
        let n = names.map(normalizedHeaderName)
        func column(_ candidates: [String]) -> String? {
            n.firstIndex(where: { candidates.contains($0) }).map { names[$0] }
        }
        guard let t = column(["time"]), let x = column(["gfx"]), let y = column(["gfy"]), let z = column(["gfz"]) else { return nil }
        var columns: [TraceField: String] = [.t: t, .ax: x, .ay: y, .az: z]
        if let lat = column(["latitude", "lat"]), let lon = column(["longitude", "lon"]) {
            columns[.lat] = lat
            columns[.lon] = lon
            columns[.speed] = column(["speed (m/s)", "speed", "speed(m/s)"])
            columns[.accuracy] = column(["accuracy (m)", "accuracy", "horizontal accuracy (m)"])
        }
        return DelimitedLayout(
            formatName: "Physics Toolbox", columns: columns, time: .clock, accelerationScale: DelimitedLayout.standardGravity, repeatsFixes: true)
    }
}

/// phyphox (RWTH Aachen) CSV exports: quoted headers with units, `NaN` for missing values,
/// times in seconds since the experiment started. "Acceleration with g" gives
/// `"Time (s)","Acceleration x (m/s^2)",…`; "Location (GPS)" gives `"Latitude (°)"`,
/// `"Longitude (°)"`, `"Velocity (m/s)"`, `"Horizontal Accuracy (m)"`. Each sensor is its own
/// file of one export (folder or zip), with `meta/time.csv` giving the start's system time.
/// Exports come comma-separated or, for decimal-comma locales, with `;` or tab.
public enum PhyphoxFormat {
    /// What kind of phyphox file a header is.
    public enum File: Sendable, Equatable {
        case acceleration
        case location
        /// "Acceleration without g": useless for bump detection, which needs gravity.
        case linearAcceleration
    }

    /// The kind and layout of a phyphox header, or nil when it is not phyphox's.
    public static func recognize(header names: [String]) -> (file: File, layout: DelimitedLayout)? {
        let n = names.map(normalizedHeaderName)
        guard let ti = n.firstIndex(of: "time (s)") else { return nil }
        func column(_ prefix: String) -> String? {
            n.firstIndex(where: { $0.hasPrefix(prefix) }).map { names[$0] }
        }
        if let x = column("acceleration x"), let y = column("acceleration y"), let z = column("acceleration z") {
            let layout = DelimitedLayout(formatName: "phyphox", columns: [.t: names[ti], .ax: x, .ay: y, .az: z], time: .number(.seconds))
            return (.acceleration, layout)
        }
        if let lat = column("latitude"), let lon = column("longitude") {
            var columns: [TraceField: String] = [.t: names[ti], .lat: lat, .lon: lon]
            columns[.speed] = column("velocity") ?? column("speed")
            columns[.accuracy] = column("horizontal accuracy")
            return (.location, DelimitedLayout(formatName: "phyphox", columns: columns, time: .number(.seconds)))
        }
        if column("linear acceleration x") != nil {
            let layout = DelimitedLayout(formatName: "phyphox", columns: [:], time: .number(.seconds))
            return (.linearAcceleration, layout)
        }
        return nil
    }

    /// Milliseconds to add to an export's times to make them epoch times, from
    /// `meta/time.csv` (`"event","experiment time","system time",…`, first `START` row).
    public static func startOffset(timeCSV bytes: [UInt8]) -> Double? {
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        guard let header = lines.first else { return nil }
        let separator: Character = header.contains(";") ? ";" : header.contains("\t") ? "\t" : ","
        func fields(_ line: String) -> [String] {
            line.split(separator: separator, omittingEmptySubsequences: false).map { normalizedHeaderName(String($0)) }
        }
        let names = fields(header)
        guard let e = names.firstIndex(of: "event"), let x = names.firstIndex(of: "experiment time"),
            let s = names.firstIndex(of: "system time")
        else { return nil }
        for line in lines.dropFirst() {
            let v = fields(line)
            guard v.count > max(e, x, s), v[e] == "start" else { continue }
            let number = { (text: String) in Double(separator == "," ? text : text.replacing(",", with: ".")) }
            guard let experiment = number(v[x]), let system = number(v[s]) else { return nil }
            return (system - experiment) * 1000
        }
        return nil
    }
}
