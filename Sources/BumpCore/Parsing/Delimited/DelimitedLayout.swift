/// The fields of a `TraceRow`, which columns of other formats are mapped to.
///
/// The raw values are the order of `TraceRow`'s stored fields; the names are the keys of a
/// `--columns` map and of the canonical CSV header.
public enum TraceField: Int, Sendable, CaseIterable, Hashable {
    case t, ax, ay, az, lat, lon, speed, accuracy

    /// The key in a column map (`t`, `ax`, … `accuracy`).
    public var name: String { "\(self)" }

    /// True for the fields a GPS fix fills (missing-value sentinels apply to these only).
    public var isFixField: Bool { rawValue >= TraceField.lat.rawValue }
}

/// How a delimited file writes its times.
public enum TimeEncoding: Sendable, Equatable {
    /// Numbers in this unit; nil guesses it: epoch times from the first row's magnitude
    /// (`TimeUnit`), times since the start from the spacing of the first rows (ms when they
    /// step by 2 or more, else s).
    case number(TimeUnit?)
    /// Wall-clock time of day, `HH:MM:SS` with a fraction after ":" or "." (`12:03:45:1234`),
    /// optionally after a date (`2024-05-01 12:03:45.123`). Without a date, times are
    /// milliseconds since the midnight the recording started after (the day is unknown).
    case clock
}

/// How to read one delimited text file: which header names hold which fields, and the units.
///
/// Phone apps and research loggers each write their own CSV dialect; every one of them is a
/// layout of this reader (see `PhoneFormats` for the built-in ones and `init(columnMap:)` for
/// a user's `--columns` line).
public struct DelimitedLayout: Sendable, Equatable {
    /// What the file is, for messages ("Physics Toolbox", "column map").
    public var formatName: String
    /// The header name of each mapped field, compared case-insensitively with surrounding
    /// spaces and quotes removed. Unmapped columns are ignored.
    public var columns: [TraceField: String]
    public var time: TimeEncoding
    /// m/s² per unit of the file's acceleration columns: 1, or 9.80665 for g. Negative when
    /// the source's axes point the other way (iOS Sensor Logger without standardisation).
    public var accelerationScale: Double
    /// Values that mean "no value" in position, speed and accuracy columns (`-1`, `-100`).
    /// Acceleration is exempt: -1 m/s² is a real reading.
    public var missing: [Double]
    /// The field separator; nil finds it in the header line (the most frequent of , ; tab).
    public var separator: UInt8?
    /// Milliseconds added to every time, for sources whose times count from a known start.
    public var timeOffset: Double
    /// True when the source writes the last fix again on every row until the next one
    /// (Physics Toolbox, loggers read through a column map): a fix at the same position as the
    /// previous one is then that fix repeated, and dropped. False where every fix is a real
    /// reading (Sensor Logger, phyphox), so a vehicle standing still keeps its fixes.
    public var repeatsFixes: Bool

    public init(
        formatName: String, columns: [TraceField: String], time: TimeEncoding = .number(nil),
        accelerationScale: Double = 1, missing: [Double] = [], separator: UInt8? = nil, timeOffset: Double = 0,
        repeatsFixes: Bool = false
    ) {
        self.formatName = formatName
        self.columns = columns
        self.time = time
        self.accelerationScale = accelerationScale
        self.missing = missing
        self.separator = separator
        self.timeOffset = timeOffset
        self.repeatsFixes = repeatsFixes
    }

    /// Standard gravity, for files in g.
    public static let standardGravity = 9.80665

    /// A layout from a `--columns` map such as `t=timestamp,ax=accX,ay=accY,az=accZ,lat=latitude,lon=longitude`.
    ///
    /// - Parameters:
    ///   - accelerationUnit: `m/s2` (default) or `g`.
    ///   - timeUnit: `s`, `ms`, `us` or `ns`; nil guesses it from the magnitude, and `clock`
    ///     reads `HH:MM:SS.fff` times.
    ///   - missing: comma-separated sentinel values for position, speed and accuracy.
    /// - Throws: `ColumnMapError` saying what is wrong with the map or a unit.
    public init(columnMap: String, accelerationUnit: String? = nil, timeUnit: String? = nil, missing: String? = nil) throws(ColumnMapError) {
        var columns: [TraceField: String] = [:]
        for part in columnMap.split(separator: ",", omittingEmptySubsequences: true) {
            guard let eq = part.firstIndex(of: "=") else {
                throw ColumnMapError("'\(part)' is not field=column (fields: \(TraceField.allCases.map(\.name).joined(separator: ", ")))")
            }
            let key = part[..<eq].trimmed.lowercased()
            let column = part[part.index(after: eq)...].trimmed
            guard let field = TraceField.allCases.first(where: { $0.name == key }) else {
                throw ColumnMapError("unknown field '\(key)' (fields: \(TraceField.allCases.map(\.name).joined(separator: ", ")))")
            }
            guard !column.isEmpty else { throw ColumnMapError("no column named for '\(key)'") }
            guard columns[field] == nil else { throw ColumnMapError("'\(key)' is mapped twice") }
            columns[field] = column
        }
        guard columns[.t] != nil else { throw ColumnMapError("the map needs t=COLUMN (the time)") }
        for group in [[TraceField.ax, .ay, .az], [.lat, .lon]] {
            let mapped = group.filter { columns[$0] != nil }
            if !mapped.isEmpty, mapped.count != group.count {
                throw ColumnMapError("map \(group.map(\.name).joined(separator: ", ")) together (got only \(mapped.map(\.name).joined(separator: ", ")))")
            }
        }
        guard columns[.ax] != nil || columns[.lat] != nil else {
            throw ColumnMapError("the map needs ax, ay and az, or lat and lon")
        }
        var scale = 1.0
        switch accelerationUnit?.lowercased() {
        case nil, "m/s2", "m/s^2", "m/s²", "ms2", "mps2": scale = 1
        case "g": scale = Self.standardGravity
        case let other?: throw ColumnMapError("acceleration unit '\(other)' is not g or m/s2")
        }
        var time = TimeEncoding.number(nil)
        switch timeUnit?.lowercased() {
        case nil, "auto": time = .number(nil)
        case "s": time = .number(.seconds)
        case "ms": time = .number(.milliseconds)
        case "us", "µs": time = .number(.microseconds)
        case "ns": time = .number(.nanoseconds)
        case "clock": time = .clock
        case let other?: throw ColumnMapError("time unit '\(other)' is not s, ms, us, ns or clock")
        }
        var sentinels: [Double] = []
        for part in (missing ?? "").split(separator: ",") {
            guard let value = Double(part.trimmed), value.isFinite else {
                throw ColumnMapError("missing-value sentinel '\(part)' is not a number")
            }
            sentinels.append(value)
        }
        self.init(formatName: "column map", columns: columns, time: time, accelerationScale: scale, missing: sentinels, repeatsFixes: true)
    }
}

/// A `--columns` map or unit that cannot be used, with what to write instead.
public struct ColumnMapError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "--columns: \(message)" }
}

extension Substring {
    fileprivate var trimmed: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
