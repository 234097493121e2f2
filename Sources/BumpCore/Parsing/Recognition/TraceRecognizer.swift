/// How one trace file is to be read, decided from its name and first line.
public enum TraceRecognition: Sendable {
    /// streetbump's own CSV (DESIGN.md 4.1).
    case canonicalCSV
    /// streetbump's NDJSON (DESIGN.md 4.2).
    case ndjson
    /// A GPX track (fixes only).
    case gpx
    /// A delimited file of another app, or one read through a column map.
    case delimited(TraceFormat, DelimitedLayout)
    /// Not a trace streetbump can read as it is; the diagnosis says why and what would read it.
    case unknown(UnrecognizedTrace)

    /// The format recognised (nil when unknown).
    public var format: TraceFormat? {
        switch self {
        case .canonicalCSV: .csv
        case .ndjson: .ndjson
        case .gpx: .gpx
        case .delimited(let format, _): format
        case .unknown: nil
        }
    }
}

/// What streetbump saw in a file it could not read, for the error message.
public struct UnrecognizedTrace: Sendable, Equatable, CustomStringConvertible {
    /// The header's column names (empty when the first line was not a header).
    public var headerNames: [String]
    /// The known format whose columns the header resembles most, with what it lacks.
    public var nearestFormat: String
    /// Fields recognised by name, as a `--columns` value (may be incomplete).
    public var suggestedColumns: String
    /// Extra flags that the column names suggest (`--accel-unit g`).
    public var suggestedFlags: [String]
    /// Why the file cannot be read as it is, when there is a more specific reason.
    public var reason: String?

    /// The whole explanation: what the header holds, the nearest format, the line to use.
    public var description: String {
        var lines: [String] = []
        lines.append(reason ?? "not a trace format streetbump recognises")
        if headerNames.isEmpty {
            lines.append("  the first line is not a header of column names")
        } else {
            lines.append("  header (\(headerNames.count) columns): \(headerNames.joined(separator: ", "))")
        }
        lines.append("  nearest known format: \(nearestFormat)")
        if !suggestedColumns.isEmpty {
            let flags = suggestedFlags.isEmpty ? "" : " " + suggestedFlags.joined(separator: " ")
            lines.append("  to read it with a column map: --columns \(shellQuoted(suggestedColumns))\(flags)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Recognises the format of a trace file from its name and first bytes.
public enum TraceRecognizer {
    /// Recognises `name` from `head`, the first bytes of its (decompressed) content holding at
    /// least the whole first line when the file has one.
    ///
    /// - Parameter forcing: a format the user named (`--input`): only it is tried, and a header
    ///   that does not fit it is reported as unknown, saying so.
    public static func recognize(name: String, head: UnsafeRawBufferPointer, forcing: TraceFormat? = nil) -> TraceRecognition {
        let lower = name.lowercased().replacing(".gz", with: "")
        let line = firstLine(head)
        let firstByte = line.first
        // Not text at all: the canonical reader says what it is (gzip, UTF-16, binary).
        if line.withUnsafeBufferPointer({ b in b.baseAddress.map { binaryContentProblem($0, b.count) } ?? nil }) != nil {
            return forcing == .ndjson ? .ndjson : .canonicalCSV
        }
        switch forcing {
        case .csv: return .canonicalCSV
        case .ndjson: return .ndjson
        case .gpx: return .gpx
        case .columns:
            return .unknown(diagnose(line, reason: "--input columns needs a --columns map or a --profile"))
        default: break
        }
        if forcing == nil {
            if lower.hasSuffix(".gpx") || firstByte == UInt8(ascii: "<") { return .gpx }
            if lower.hasSuffix(".ndjson") || lower.hasSuffix(".jsonl") || lower.hasSuffix(".json") || firstByte == UInt8(ascii: "{") {
                return .ndjson
            }
        }
        let separator = line.withUnsafeBufferPointer { b in b.baseAddress.map { guessSeparator($0, $0 + b.count) } ?? UInt8(ascii: ",") }
        let names = line.withUnsafeBufferPointer { b in b.baseAddress.flatMap { splitHeader($0, $0 + b.count, separator: separator) } } ?? []
        let recognized = recognize(header: names, fileName: lower)
        if let forcing, recognized.format != forcing {
            if case .unknown(var diagnosis) = recognized {
                diagnosis.reason = "--input \(forcing.rawValue): the header is not \(forcing.displayName)'s" + (diagnosis.reason.map { " (\($0))" } ?? "")
                return .unknown(diagnosis)
            }
            return .unknown(diagnose(line, reason: "--input \(forcing.rawValue): the header is \(recognized.format?.displayName ?? "?")'s, not \(forcing.displayName)'s"))
        }
        return recognized
    }

    /// Recognises a header line already split into names.
    static func recognize(header names: [String], fileName: String) -> TraceRecognition {
        let n = Set(names.map(normalizedHeaderName))
        if n.contains("t"), n.isSuperset(of: ["ax", "ay", "az"]) || n.isSuperset(of: ["lat", "lon"]) { return .canonicalCSV }
        if SensorLoggerFormat.isSensorLoggerHeader(names) {
            switch SensorLoggerFormat.File(fileName: fileName) {
            case .location?:
                return .delimited(.sensorLogger, SensorLoggerFormat.locationLayout)
            case .accelerometer?, .gravity?:
                return .unknown(diagnose(names, reason: "a Sensor Logger \(SensorLoggerFormat.File(fileName: fileName)!.rawValue) is only part of a recording (acceleration without gravity, or gravity): read the whole export folder or zip"))
            default:
                if n.isSuperset(of: ["x", "y", "z"]) { return .delimited(.sensorLogger, SensorLoggerFormat.accelerationLayout(flipped: false)) }
                if n.isSuperset(of: ["latitude", "longitude"]) { return .delimited(.sensorLogger, SensorLoggerFormat.locationLayout) }
                return .unknown(diagnose(names, reason: "a Sensor Logger file of a sensor streetbump does not use"))
            }
        }
        if let layout = PhysicsToolboxFormat.layout(header: names) { return .delimited(.physicsToolbox, layout) }
        if let (file, layout) = PhyphoxFormat.recognize(header: names) {
            if file == .linearAcceleration {
                return .unknown(diagnose(names, reason: "phyphox \"Acceleration without g\" has no gravity, which bump detection needs: record with \"Acceleration with g\""))
            }
            return .delimited(.phyphox, layout)
        }
        return .unknown(diagnose(names, reason: nil))
    }

    /// Known formats by their characteristic columns (normalised), for "nearest format".
    static let signatures: [(name: String, columns: [String])] = [
        ("canonical CSV (t,ax,ay,az,lat,lon,speed,accuracy)", ["t", "ax", "ay", "az", "lat", "lon", "speed", "accuracy"]),
        ("Sensor Logger (time,seconds_elapsed,z,y,x per sensor file)", ["time", "seconds_elapsed", "z", "y", "x", "latitude", "longitude"]),
        ("Physics Toolbox (time,gFx,gFy,gFz)", ["time", "gfx", "gfy", "gfz", "tgf", "latitude", "longitude"]),
        ("phyphox (\"Time (s)\",\"Acceleration x (m/s^2)\",…)", ["time (s)", "acceleration x (m/s^2)", "acceleration y (m/s^2)", "acceleration z (m/s^2)", "latitude (°)", "longitude (°)"]),
    ]

    static func diagnose(_ line: [UInt8], reason: String?) -> UnrecognizedTrace {
        let separator = line.withUnsafeBufferPointer { b in b.baseAddress.map { guessSeparator($0, $0 + b.count) } ?? UInt8(ascii: ",") }
        let names = line.withUnsafeBufferPointer { b in b.baseAddress.flatMap { splitHeader($0, $0 + b.count, separator: separator) } } ?? []
        return diagnose(names, reason: reason)
    }

    /// What the header holds, the nearest known format, and a column map guessed from names.
    static func diagnose(_ names: [String], reason: String?) -> UnrecognizedTrace {
        let looksLikeHeader = !names.isEmpty && names.contains { name in name.contains { $0.isLetter } }
            && !names.allSatisfy { Double($0) != nil || $0.isEmpty }
        let normalized = names.map(normalizedHeaderName)
        var nearest = "none (no column name of a known format)"
        var bestScore = 0
        for signature in signatures {
            let present = signature.columns.filter { normalized.contains($0) }
            if present.count > bestScore {
                bestScore = present.count
                let lacking = signature.columns.filter { !normalized.contains($0) }
                nearest = signature.name + " — has \(present.joined(separator: ", "))"
                    + (lacking.isEmpty ? "" : "; lacks \(lacking.joined(separator: ", "))")
            }
        }
        var map: [TraceField: String] = [:]
        var used = Set<Int>()
        for field in TraceField.allCases {
            if let i = names.indices.first(where: { !used.contains($0) && columnMatches(normalized[$0], field) }) {
                map[field] = names[i]
                used.insert(i)
            }
        }
        // Incomplete groups are shown as placeholders for the user to fill in.
        for group in [[TraceField.ax, .ay, .az], [.lat, .lon]] where group.contains(where: { map[$0] != nil }) {
            for field in group where map[field] == nil { map[field] = "?" }
        }
        if map[.t] == nil { map[.t] = "?" }
        var flags: [String] = []
        if let ax = map[.ax], ax != "?", isInG(normalizedHeaderName(ax)) { flags.append("--accel-unit g") }
        if let t = map[.t], t != "?", let unit = timeUnitWord(normalizedHeaderName(t)) { flags.append("--time-unit \(unit)") }
        let columns = looksLikeHeader
            ? TraceField.allCases.compactMap { field in map[field].map { "\(field.name)=\($0)" } }.joined(separator: ",") : ""
        return UnrecognizedTrace(
            headerNames: looksLikeHeader ? names : [], nearestFormat: nearest, suggestedColumns: columns, suggestedFlags: flags,
            reason: reason)
    }

    /// True when a normalised column name looks like it holds `field`.
    static func columnMatches(_ name: String, _ field: TraceField) -> Bool {
        // Letters only, units in parentheses dropped: "Accel X (m/s^2)" → "accelx"; and words:
        // "gps_lat" → ["gps", "lat"].
        let bare = String(name.split(separator: "(").first ?? "")
        let letters = String(bare.filter { $0.isLetter })
        let words = bare.split { !$0.isLetter && !$0.isNumber }.map(String.init)
        let accelerationWord = ["acc", "accel", "acceleration", "accelerometer", "a", "g", "gf", "gforce", "total", "totalacceleration"]
        func axis(_ a: String) -> Bool {
            if letters == a { return true }
            for word in accelerationWord where letters == word + a || letters == a + word { return true }
            if words.contains(a), words.contains(where: { w in accelerationWord.contains(w) || w.hasPrefix("acc") }) { return true }
            return (letters.hasPrefix("acc") || letters.hasPrefix("gf")) && letters.hasSuffix(a)
        }
        switch field {
        case .t:
            let timeWords = ["t", "ts", "time", "timestamp", "epoch", "datetime", "date", "utc", "unixtime", "times"]
            return timeWords.contains(letters) || words.first.map(timeWords.contains) == true
                || letters.hasPrefix("timestamp") || letters.hasPrefix("time")
        case .ax: return axis("x")
        case .ay: return axis("y")
        case .az: return axis("z")
        case .lat: return letters.hasPrefix("lat") || words.contains { $0.hasPrefix("lat") }
        case .lon: return letters.hasPrefix("lon") || letters.hasPrefix("lng") || words.contains { $0.hasPrefix("lon") || $0 == "lng" }
        case .speed: return letters.contains("speed") || letters.contains("velocity")
        case .accuracy: return letters.contains("accuracy") && !letters.contains("vertical") && !letters.contains("speed") && !letters.contains("bearing")
        }
    }

    /// The unit a time column's name gives (`ts_ms`, `time (ms)`), as a `--time-unit` value.
    private static func timeUnitWord(_ name: String) -> String? {
        let words = name.split { !$0.isLetter && !$0.isNumber }.map { $0.lowercased() }
        return ["ms", "us", "ns"].first { words.dropFirst().contains($0) }
    }

    private static func isInG(_ name: String) -> Bool {
        name.contains("(g)") || name.hasPrefix("gf") || name.hasPrefix("g_") || name.hasSuffix("_g") || name.hasSuffix(" g")
    }

    /// The column names of the first line of `head` (separator guessed, quotes removed).
    public static func headerNames(_ head: UnsafeRawBufferPointer) -> [String] {
        let line = firstLine(head)
        return line.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return [] }
            return splitHeader(base, base + b.count, separator: guessSeparator(base, base + b.count)) ?? []
        }
    }

    /// The first non-blank line of `head` without BOM and line end, leading blanks dropped.
    /// Scans only as far as that line: `head` may be a whole megabyte.
    static func firstLine(_ head: UnsafeRawBufferPointer) -> [UInt8] {
        var start = head.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while start < head.count {
            let end = head[start...].firstIndex(of: UInt8(ascii: "\n")) ?? head.count
            var line = head[start..<end].drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) { return Array(line) }
            start = end + 1
        }
        return []
    }
}

/// `s` quoted for a POSIX shell when it holds anything but plain characters.
func shellQuoted(_ s: String) -> String {
    let plain = s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || "0123456789_-=,./:@+".unicodeScalars.contains($0) }
    return plain ? s : "'" + s.replacing("'", with: "'\\''") + "'"
}
