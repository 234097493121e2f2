import BumpIngest
import Foundation

/// Settings from `streetbump.toml` (or the file STREETBUMP_CONFIG names) and STREETBUMP_*
/// environment variables. Precedence: command-line flag, then environment, then file, then default.
struct Configuration {
    static let keys = [
        "db", "crs", "privacy_trim", "radius", "jobs", "min_speed",
        // Filing (Open311). Without open311_url, requests go to the embedded endpoint.
        "open311_url", "open311_api_key", "open311_jurisdiction", "open311_service_code", "open311_attributes",
        "open311_timeout", "filing_min_confidence", "filing_radius", "filing_posts_per_minute", "filing_max_attempts",
        "review_url",
        // The daemon.
        "host", "port", "open311_server_keys", "upload_max_bytes", "tile_url", "filing_interval",
        // Access (name:role:secret, ...) and privacy.
        "api_tokens", "retention_days", "coverage_cell",
    ]
    /// Each value with where it came from, so a bad one is reported at its source.
    private var values: [String: (value: String, origin: String)] = [:]

    /// The configuration in effect for this process (read once, on first use).
    static let current: Configuration = {
        do {
            return try Configuration.load(environment: ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            exit(2)
        }
    }()

    static func load(environment: [String: String]) throws -> Configuration {
        var c = Configuration()
        let explicit = environment["STREETBUMP_CONFIG"]
        let path = explicit ?? "streetbump.toml"
        if FileManager.default.fileExists(atPath: path) {
            c.values = try parse(String(decoding: try FileSystem.readAll(path), as: UTF8.self), path: path)
        } else if let explicit {
            throw FileError(path: explicit, message: "STREETBUMP_CONFIG names a file that does not exist")
        }
        for key in keys {
            let name = "STREETBUMP_" + key.uppercased()
            if let v = environment[name] { c.values[key] = (v, "environment variable \(name)") }
        }
        return c
    }

    /// Keys of a `[profile.NAME]` section: a saved column map for `--profile NAME`.
    static let profileKeys = ["columns", "accel_unit", "time_unit", "missing"]

    /// The config file in effect (STREETBUMP_CONFIG, else streetbump.toml here).
    static var path: String { ProcessInfo.processInfo.environment["STREETBUMP_CONFIG"] ?? "streetbump.toml" }

    /// The subset of TOML a settings file needs: `key = value` lines (strings quoted, numbers
    /// bare), `#` comments, and `[section]` headers, which only group (keys are flat), except
    /// `[profile.NAME]`, whose keys (`profileKeys`) belong to that column-map profile.
    static func parse(_ text: String, path: String) throws -> [String: (value: String, origin: String)] {
        var out: [String: (value: String, origin: String)] = [:]
        var profile: String?
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if n == 0, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
            if let hash = Self.commentStart(line) { line = line[..<hash] }
            let t = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if t.hasPrefix("[") && t.hasSuffix("]") {
                let section = t.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                profile = section.hasPrefix("profile.") ? String(section.dropFirst("profile.".count)) : nil
                if profile?.isEmpty == true { throw FileError(path: path, message: "line \(n + 1): a profile needs a name: [profile.NAME]") }
                continue
            }
            if t.isEmpty { continue }
            guard let eq = t.firstIndex(of: "=") else {
                throw FileError(path: path, message: "line \(n + 1): expected key = value")
            }
            var key = t[..<eq].trimmingCharacters(in: .whitespaces)
            var value = t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if let profile {
                guard profileKeys.contains(key) else {
                    throw FileError(path: path, message: "line \(n + 1): unknown key '\(key)' in [profile.\(profile)]; known keys: \(profileKeys.joined(separator: ", "))")
                }
                key = "profile.\(profile).\(key)"
            } else if !keys.contains(key) {
                throw FileError(path: path, message: "line \(n + 1): unknown key '\(key)'; known keys: \(keys.joined(separator: ", "))")
            }
            if value.hasPrefix("\"") {
                guard value.count >= 2, value.hasSuffix("\"") else { throw FileError(path: path, message: "line \(n + 1): unterminated string") }
                value = String(value.dropFirst().dropLast())
            }
            out[key] = (value, "\(path): line \(n + 1)")
        }
        return out
    }

    /// Where a `#` comment begins: the first `#` outside a quoted string.
    static func commentStart(_ line: Substring) -> Substring.Index? {
        var quoted = false
        for i in line.indices {
            if line[i] == "\"" { quoted.toggle() } else if line[i] == "#" && !quoted { return i }
        }
        return nil
    }

    func string(_ key: String) -> String? { values[key]?.value }

    /// The settings of `[profile.NAME]`, keyed by `profileKeys`; nil when there is no such profile.
    func profile(_ name: String) -> [String: String]? {
        let prefix = "profile.\(name)."
        let found = values.filter { $0.key.hasPrefix(prefix) }
        guard !found.isEmpty else { return nil }
        return Dictionary(uniqueKeysWithValues: found.map { (String($0.key.dropFirst(prefix.count)), $0.value.value) })
    }

    /// Names of the profiles in the file.
    var profileNames: [String] {
        Set(values.keys.filter { $0.hasPrefix("profile.") }.map { String($0.dropFirst("profile.".count).split(separator: ".").dropLast().joined(separator: ".")) }).sorted()
    }

    /// Writes `[profile.NAME]` with `settings` into the config file at `path`, replacing a
    /// profile of that name and keeping everything else as it was.
    static func saveProfile(_ name: String, _ settings: [(key: String, value: String)], path: String) throws {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw FileError(path: path, message: "profile name '\(name)' must be letters, digits, - or _")
        }
        var lines: [String] = []
        if FileManager.default.fileExists(atPath: path) {
            let text = String(decoding: try FileSystem.readAll(path), as: UTF8.self)
            var skipping = false
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.hasPrefix("[") && t.hasSuffix("]") { skipping = t == "[profile.\(name)]" }
                if !skipping { lines.append(String(line)) }
            }
            while lines.last?.isEmpty == true { lines.removeLast() }
            if !lines.isEmpty { lines.append("") }
        }
        lines.append("[profile.\(name)]")
        for (key, value) in settings {
            // The parser reads strings without escapes, so a quote cannot be stored.
            guard !value.contains("\"") else { throw FileError(path: path, message: "\(key) = \(value): a profile value cannot contain a double quote") }
            lines.append("\(key) = \"\(value)\"")
        }
        try FileSystem.writeText(lines.joined(separator: "\n") + "\n", to: path)
    }

    func number(_ key: String) throws -> Double? {
        guard let (v, origin) = values[key] else { return nil }
        guard let d = Double(v), d.isFinite else { throw FileError(path: origin, message: "\(key) = \(v) is not a number") }
        return d
    }

    /// A number that must lie in `range`, with an error naming where it was set.
    func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let d = try number(key) else { return nil }
        guard range.contains(d) else {
            throw FileError(path: values[key]!.origin,
                            message: "\(key) = \(values[key]!.value) must be between \(Self.show(range.lowerBound)) and \(Self.show(range.upperBound))")
        }
        return d
    }

    /// `retention_days`, for `serve` and `purge` alike: above 0, since 0 or less would delete
    /// every trip (it is not an off switch).
    func retentionDays() throws -> Double? {
        guard let days = try number("retention_days", in: 0...36_500) else { return nil }
        guard days > 0 else {
            throw FileError(path: values["retention_days"]!.origin, message: "retention_days = \(values["retention_days"]!.value) must be above 0 (it is not an off switch: 0 would delete every trip)")
        }
        return days
    }

    /// A whole number in `range` (`2.9` is refused, not cut to 2), with an error naming where it was set.
    func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let d = try number(key, in: Double(range.lowerBound)...Double(range.upperBound)) else { return nil }
        guard d == d.rounded() else { throw FileError(path: values[key]!.origin, message: "\(key) = \(values[key]!.value) must be a whole number") }
        return Int(d)
    }

    private static func show(_ x: Double) -> String { x == x.rounded() && x.magnitude < 1e15 ? String(Int(x)) : String(x) }
}
