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

    /// The subset of TOML a settings file needs: `key = value` lines (strings quoted, numbers
    /// bare), `#` comments, and `[section]` headers, which only group (keys are flat).
    static func parse(_ text: String, path: String) throws -> [String: (value: String, origin: String)] {
        var out: [String: (value: String, origin: String)] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#"), !line[..<hash].contains("\"") { line = line[..<hash] }
            let t = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if t.isEmpty || (t.hasPrefix("[") && t.hasSuffix("]")) { continue }
            guard let eq = t.firstIndex(of: "=") else {
                throw FileError(path: path, message: "line \(n + 1): expected key = value")
            }
            let key = t[..<eq].trimmingCharacters(in: .whitespaces)
            var value = t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard keys.contains(key) else {
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

    func string(_ key: String) -> String? { values[key]?.value }

    func number(_ key: String) throws -> Double? {
        guard let (v, origin) = values[key] else { return nil }
        guard let d = Double(v), d.isFinite else { throw FileError(path: origin, message: "\(key) = \(v) is not a number") }
        return d
    }
}
