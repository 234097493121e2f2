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
        let port = Int.random(in: 20_000...40_000)
        let serve = Process()
        serve.executableURL = CLI.binary
        serve.arguments = ["serve", "--db", db, "--port", String(port)]
        serve.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STREETBUMP_") }
            .merging(["STREETBUMP_FILING_INTERVAL": "0.5"]) { $1 }
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        let base = "http://127.0.0.1:\(port)"
        var up = false
        for _ in 0..<200 where !up {
            up = (try? await URLSession.shared.data(from: URL(string: base + "/healthz")!)) != nil
            if !up { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(up, "serve answers /healthz")

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
