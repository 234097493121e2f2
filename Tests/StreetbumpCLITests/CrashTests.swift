import BumpStore
import Foundation
import Testing

/// kill -9 at many points of `ingest` and `stream`, restart, and compare with a run that was
/// never killed: nothing stored is lost, nothing is counted twice, the file stays sound.
@Suite("crash safety: kill -9 and restart")
struct CrashTests {
    /// A small simulated city as CSV files and as one NDJSON stream (made once).
    static let city: URL = {
        let dir = try! CLI.temporaryDirectory()
        _ = try! CLI.run(["simulate", "--out", dir.appendingPathComponent("csv").path, "--trips", "8", "--duration", "240", "--rate", "50", "--seed", "9"])
        _ = try! CLI.run(["simulate", "--out", dir.appendingPathComponent("nd").path, "--trips", "8", "--duration", "240", "--rate", "50", "--seed", "9", "--format", "ndjson"])
        return dir
    }()

    /// Everything but the ids: position, class, evidence and passes of every cluster.
    static func fingerprint(_ db: String) throws -> [String] {
        let csv = try CLI.run(["clusters", "export", "--db", db, "--all", "--format", "csv"]).stdout
        return csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).dropFirst().joined(separator: ",") }.sorted()
    }

    /// Starts `arguments`, kills it with SIGKILL after `delay` seconds (if still running).
    static func killed(_ arguments: [String], after delay: Double, input: URL? = nil) throws {
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STREETBUMP_") }
        if let input { p.standardInput = try FileHandle(forReadingFrom: input) }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: delay)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// Twenty kill points spread over a clean run's duration, the same on every run of the test.
    static func killPoints(over seconds: Double) -> [Double] {
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<20).map { _ in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return Double(x % 10_000) / 10_000 * seconds
        }
    }

    @Test("ingest killed at 20 points and run again gives the store of a run never killed")
    func ingest() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let traces = Self.city.appendingPathComponent("csv").path
        let clean = dir.appendingPathComponent("clean.sqlite").path
        let start = Date()
        #expect(try CLI.run(["ingest", traces, "--db", clean, "--jobs", "2"]).status == 0)
        let expected = try Self.fingerprint(clean)
        #expect(!expected.isEmpty)
        for (i, delay) in Self.killPoints(over: Date().timeIntervalSince(start)).enumerated() {
            let db = dir.appendingPathComponent("k\(i).sqlite").path
            try Self.killed(["ingest", traces, "--db", db, "--jobs", "2"], after: delay)
            let again = try CLI.run(["ingest", traces, "--db", db, "--jobs", "2"])
            #expect(again.status == 0, "kill point \(i) (\(delay) s): \(again.stderr)")
            #expect(try Self.fingerprint(db) == expected, "kill point \(i) (\(delay) s)")
            let store = try TraceStore(path: db)
            #expect(try store.integrityCheck() == "ok")
            #expect(try store.counts().trips == 8, "kill point \(i): every trip once")
        }
    }

    @Test("stream killed at 20 points and sent again gives the store of a run never killed")
    func stream() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = Self.city.appendingPathComponent("nd/trips.ndjson")
        let clean = dir.appendingPathComponent("clean.sqlite").path
        let start = Date()
        #expect(try CLI.run(["stream", "--db", clean], input: input).status == 0)
        let expected = try Self.fingerprint(clean)
        #expect(!expected.isEmpty)
        for (i, delay) in Self.killPoints(over: Date().timeIntervalSince(start)).enumerated() {
            let db = dir.appendingPathComponent("k\(i).sqlite").path
            try Self.killed(["stream", "--db", db], after: delay, input: input)
            let again = try CLI.run(["stream", "--db", db], input: input)
            #expect(again.status == 0, "kill point \(i) (\(delay) s): \(again.stderr)")
            #expect(try Self.fingerprint(db) == expected, "kill point \(i) (\(delay) s)")
            let store = try TraceStore(path: db)
            #expect(try store.integrityCheck() == "ok")
            #expect(try store.counts().trips == 8 && store.openTrips().isEmpty, "kill point \(i): every trip once, all closed")
        }
    }
}
