import BumpStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

@Suite("streetbump serve")
struct ServeCLITests {
    @Test("serve files what staff confirm through its own filer, and stops cleanly on SIGTERM")
    func confirmIsFiled() async throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        #expect(try CLI.run(["ingest", CrashTests.city.appendingPathComponent("csv").path, "--db", db]).status == 0)
        let (serve, base) = try await CLI.serve(["--db", db], environment: ["STREETBUMP_FILING_INTERVAL": "0.5"])
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }

        let store = try TraceStore(path: db)
        let target = try #require(try store.clusters().first { c in try store.filings(ofCluster: c.id).isEmpty })
        var confirm = URLRequest(url: URL(string: base + "/api/v1/clusters/\(target.id)/actions")!)
        confirm.httpMethod = "POST"
        confirm.setValue("application/json", forHTTPHeaderField: "Content-Type")
        confirm.httpBody = Data(#"{"action":"confirm","actor":"test"}"#.utf8)
        let (_, response) = try await URLSession.shared.data(for: confirm)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        var filed: FilingRecord?
        for _ in 0..<300 where filed == nil {
            filed = try store.filings(ofCluster: target.id).first { $0.state == .filed }
            if filed == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(filed?.origin == "staff", "the daemon's filer filed the confirmed cluster")

        kill(serve.processIdentifier, SIGTERM)
        serve.waitUntilExit()
        #expect(serve.terminationReason == .exit && serve.terminationStatus == 0)
    }
}

@Suite("streetbump serve: retention")
struct RetentionCLITests {
    @Test("serve with retention_days applies it: trips stored longer ago are deleted and the clusters recomputed")
    func retentionInServe() async throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        #expect(try CLI.run(["ingest", CrashTests.city.appendingPathComponent("csv").path, "--db", db]).status == 0)
        let store = try TraceStore(path: db)
        #expect(try store.counts().trips == 8)
        // A second (in days): everything already stored is past it by then.
        try await Task.sleep(for: .seconds(1.5))
        let (serve, _) = try await CLI.serve(["--db", db, "--no-file"], environment: ["STREETBUMP_RETENTION_DAYS": String(1.0 / 86_400)])
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        for _ in 0..<100 where try store.counts().trips > 0 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(try store.counts().trips == 0 && store.counts().clusters == 0)
        kill(serve.processIdentifier, SIGTERM)
    }
}

extension CLI {
    /// `streetbump serve` (of `binary`) on a random loopback port, once it answers /healthz.
    static func serve(_ arguments: [String], environment: [String: String] = [:], binary: URL = CLI.binary) async throws -> (Process, base: String) {
        let port = Int.random(in: 20_000...40_000)
        let serve = Process()
        serve.executableURL = binary
        serve.arguments = ["serve", "--port", String(port)] + arguments
        serve.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STREETBUMP_") }.merging(environment) { $1 }
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        let base = "http://127.0.0.1:\(port)"
        for _ in 0..<300 {
            if (try? await URLSession.shared.data(from: URL(string: base + "/healthz")!)) != nil { return (serve, base) }
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(serve.processIdentifier, SIGKILL)
        throw CLIError(message: "serve did not answer /healthz on port \(port) within 30 s")
    }
}

struct CLIError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
