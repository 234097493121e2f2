import BumpIngest
#if canImport(Glibc)
import Glibc
#endif

/// Settings from `streetbump.toml` (or the file STREETBUMP_CONFIG names) and STREETBUMP_*
/// environment variables. Precedence: command-line flag, then environment, then file, then default.
struct Configuration {
    static let keys = ["db", "crs", "privacy_trim", "radius", "jobs", "min_speed"]
    private var values: [String: String] = [:]

    /// The configuration in effect for this process (read once).
    nonisolated(unsafe) static var current: Configuration = {
        do {
            return try Configuration.load(environment: ProcessInfoLite.environment)
        } catch {
            var err = ByteWriter.standardError()
            try? err.write("error: \(error)\n")
            try? err.flush()
            exit(2)
        }
    }()

    static func load(environment: [String: String]) throws -> Configuration {
        var c = Configuration()
        let explicit = environment["STREETBUMP_CONFIG"]
        let path = explicit ?? "streetbump.toml"
        if access(path, F_OK) == 0 {
            var file = try ChunkedFileReader(path: path)
            defer { file.close() }
            var bytes: [UInt8] = []
            try file.forEachChunk { bytes.append(contentsOf: $0) }
            c.values = try parse(String(decoding: bytes, as: UTF8.self), path: path)
        } else if let explicit {
            throw FileError(path: explicit, message: "STREETBUMP_CONFIG names a file that does not exist")
        }
        for key in keys {
            if let v = environment["STREETBUMP_" + key.uppercased()] { c.values[key] = v }
        }
        return c
    }

    /// The subset of TOML a settings file needs: `key = value` lines (strings quoted, numbers
    /// bare), `#` comments, and `[section]` headers, which only group (keys are flat).
    static func parse(_ text: String, path: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#"), !line[..<hash].contains("\"") { line = line[..<hash] }
            let t = line.trimmingCharacters(in: " \t\r")
            if t.isEmpty || (t.hasPrefix("[") && t.hasSuffix("]")) { continue }
            guard let eq = t.firstIndex(of: "=") else {
                throw FileError(path: path, message: "line \(n + 1): expected key = value")
            }
            let key = t[..<eq].trimmingCharacters(in: " \t")
            var value = t[t.index(after: eq)...].trimmingCharacters(in: " \t")
            guard keys.contains(key) else {
                throw FileError(path: path, message: "line \(n + 1): unknown key '\(key)'; known keys: \(keys.joined(separator: ", "))")
            }
            if value.hasPrefix("\"") {
                guard value.count >= 2, value.hasSuffix("\"") else { throw FileError(path: path, message: "line \(n + 1): unterminated string") }
                value = String(value.dropFirst().dropLast())
            }
            out[key] = value
        }
        return out
    }

    func string(_ key: String) -> String? { values[key] }

    func number(_ key: String) throws -> Double? {
        guard let v = values[key] else { return nil }
        guard let d = Double(v), d.isFinite else { throw FileError(path: "configuration", message: "\(key) = \(v) is not a number") }
        return d
    }
}

/// The process environment without Foundation.
enum ProcessInfoLite {
    static var environment: [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return out
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
