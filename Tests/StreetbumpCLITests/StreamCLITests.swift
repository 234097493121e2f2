import BumpStore
import Foundation
import Synchronization
import Testing

/// Bytes a child process wrote, collected as they arrive.
final class Collected: Sendable {
    private let data = Mutex(Data())
    func append(_ d: Data) { data.withLock { $0.append(d) } }
    var snapshot: Data { data.withLock { $0 } }
}

@Suite("streetbump stream")
struct StreamCLITests {
    static let sample = CLI.packageRoot.appendingPathComponent("SampleTraces/stream/trips.ndjson")

    @Test("SIGTERM mid-stream: exit 0, and every event announced before the signal is in the store")
    func sigterm() async throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["stream", "--db", db, "--privacy-trim", "0"]
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STREETBUMP_") }
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let stdout = Collected(), stderr = Collected()
        output.fileHandleForReading.readabilityHandler = { stdout.append($0.availableData) }
        errors.fileHandleForReading.readabilityHandler = { stderr.append($0.availableData) }
        try process.run()

        // Half the stream, and the pipe stays open: only the signal can end this run.
        let bytes = try Data(contentsOf: Self.sample)
        input.fileHandleForWriting.write(bytes.prefix(bytes.count / 2))
        let deadline = Date().addingTimeInterval(120)
        while !String(decoding: stdout.snapshot, as: UTF8.self).contains("\"type\":\"event\"") && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let before = String(decoding: stdout.snapshot, as: UTF8.self)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
        errors.fileHandleForReading.readabilityHandler = nil
        #expect(process.terminationStatus == 0, "\(String(decoding: stderr.snapshot, as: UTF8.self))")
        #expect(String(decoding: stderr.snapshot, as: UTF8.self).contains("stopped by signal"))

        let announced = before.split(separator: "\n").compactMap { line -> (String, Double)? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], o["type"] as? String == "event",
                  let trip = o["trip"] as? String, let t = o["t"] as? Double else { return nil }
            return (trip, t)
        }
        #expect(!announced.isEmpty)
        let store = try TraceStore(path: db)
        var stored = Set<String>()
        for c in try store.clusters() {
            for (trip, _, e) in try store.events(ofCluster: c.id) { stored.insert("\(trip) \(Int((e.t * 10).rounded()))") }
        }
        for (trip, t) in announced {
            #expect(stored.contains("\(trip) \(Int((t * 10).rounded()))"), "event of \(trip) at \(t) was announced but is not stored")
        }
        #expect(try store.openTrips().isEmpty, "the signal closed every trip")
        #expect(try store.integrityCheck() == "ok")
    }

    @Test("a CSV stream: a bad row is reported with its line and field, the trip is closed at EOF")
    func csvInput() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let csv = dir.appendingPathComponent("in.csv")
        try "t,ax,ay,az,lat,lon,speed,accuracy,trip\n1780000000000,0.1,9.8,0.2,42.35,-71.06,8,5,veh-1\n1780000000020,0.1,9.8,0.2,,,,,veh-1\n1780000000040,x,9.8,0.2,,,,,veh-1\n"
            .write(to: csv, atomically: true, encoding: .utf8)
        let r = try CLI.run(["stream", "--input", "csv", "--db", dir.appendingPathComponent("s.sqlite").path], input: csv)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("stdin:4: field 'ax'"), "\(r.stderr)")
        #expect(r.stdout.contains("\"type\":\"trip_closed\",\"trip\":\"veh-1\""), "\(r.stdout)")
    }

    @Test("stdout closed early (| head -1): the stream is still read, stored and every trip closed; exit 1")
    func closedOutput() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        let input = CrashTests.city.appendingPathComponent("nd/trips.ndjson").path
        let clean = dir.appendingPathComponent("clean.sqlite").path
        #expect(try CLI.run(["stream", "--db", clean], input: URL(fileURLWithPath: input)).status == 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "set -o pipefail; \"$0\" stream --db \"$1\" < \"$2\" 2>\"$1.err\" | head -1 >/dev/null; echo ${PIPESTATUS[0]} > \"$1.status\"",
                             CLI.binary.path, db, input]
        try process.run()
        process.waitUntilExit()
        let status = try String(contentsOfFile: db + ".status", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let stderr = try String(contentsOfFile: db + ".err", encoding: .utf8)
        #expect(status == "1", "\(stderr)")
        #expect(stderr.contains("messages are no longer written") && stderr.contains("everything committed"), "\(stderr)")
        let store = try TraceStore(path: db), reference = try TraceStore(path: clean)
        #expect(try store.openTrips().isEmpty, "every trip closed")
        #expect(try store.counts() == reference.counts(), "the same store as with stdout read to the end")
    }

    @Test("stream --file files potholes as they qualify, into the embedded queue, and says so on stdout")
    func fileWhileStreaming() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        let r = try CLI.run(["stream", "--db", db, "--file"], input: CrashTests.city.appendingPathComponent("nd/trips.ndjson"))
        #expect(r.status == 0, "\(r.stderr)")
        let announced = r.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"request_filed\"") }
        let store = try TraceStore(path: db)
        let filed = try store.filings(in: [.filed])
        #expect(!filed.isEmpty && announced.count == filed.count, "\(announced.count) announced, \(filed.count) filed")
        #expect(try store.cityRequestCount() == filed.count)
        #expect(try CLI.run(["file", "--db", db]).stdout.contains("queued 0, filed 0"), "nothing left for a later run")
    }
}
