import BumpCore
import BumpStore
import Foundation
import StreetBumpServer
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Debian's chromium, headless: the page as a browser runs it (scripts, fetches, DOM).
enum Browser {
    static let path = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The DOM after the page's scripts ran (virtual time lets its fetches finish). The wait
    /// happens on a thread of its own: the server the browser talks to needs the test's
    /// cooperative threads, and blocking one of them could starve it.
    static func dom(_ url: String) async throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try #require(path, "chromium is not installed (apt-get install chromium)"))
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--virtual-time-budget=15000", "--dump-dom", url]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = await withCheckedContinuation { (c: CheckedContinuation<Data, Never>) in
            Thread.detachNewThread {
                let data = out.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                c.resume(returning: data)
            }
        }
        return String(decoding: data, as: UTF8.self)
    }
}

@Suite("review page and review actions")
struct ReviewPageTests {
    static let hostile = "<img src=x onerror=alert(1)>"

    /// Uploads the sample stream with one trip renamed to markup, then calls every cluster a pothole.
    func prepare(_ f: ServerFixture) async throws {
        let text = try String(contentsOf: UploadTests.stream, encoding: .utf8)
            .replacingOccurrences(of: "\"trip\":\"trip-0003\"", with: "\"trip\":\(TraceWriter.jsonString(Self.hostile))")
        let r = try await f.post("/api/v1/traces", body: Data(text.utf8), headers: ["Content-Type": "application/x-ndjson"])
        #expect(r.status == 201, "\(r.body)")
        try f.store.updateClusters { snapshot in
            let clusters = try f.store.clusters().map { c in
                var p = c
                p.cls = .pothole
                p.confidence = 0.9
                return p
            }
            return (clusters, snapshot.points.compactMap { p in p.cluster.map { (event: p.id, cluster: $0) } })
        }
    }

    @Test("a real browser renders the queue, and a trip name with markup stays text in the evidence")
    func browserRendersEscaped() async throws {
        try await ServerFixture.with { f in
            try await prepare(f)
            let clusters = try f.store.clusters()
            #expect(!clusters.isEmpty)
            let target = try #require(try clusters.first { c in try f.store.events(ofCluster: c.id).contains { $0.trip == Self.hostile } })
            let dom = try await Browser.dom(f.base + "/#cluster=\(target.id)")
            #expect(dom.components(separatedBy: "<tr data-id=").count - 1 == clusters.count, "one queue row per pothole")
            #expect(dom.contains("Cluster \(target.id): pothole"), "the evidence opened from the link")
            #expect(dom.contains("<th>dip→strike m</th>"), "the evidence table has each event's dip to strike")
            #expect(dom.contains("&lt;img src=x onerror=alert(1)&gt;"), "the trip name shown as text")
            #expect(!dom.contains("<img src=\"x\"") && !dom.contains("<img src=x"), "never as an element")
        }
    }

    @Test("a reviewer clicks a cluster in the queue, types a reason and rejects it: the decision reaches the store")
    func rejectRoundTrip() async throws {
        try await ServerFixture.with { f in
            try await prepare(f)
            let clusters = try f.store.clusters()
            let target = try #require(clusters.first)
            let browser = try DevToolsBrowser()
            defer { browser.close() }
            try await browser.open(f.base + "/")
            try await browser.waitFor("document.querySelectorAll('#queue tr[data-id]').length > 0")
            #expect(try await browser.evaluate("document.querySelectorAll('#queue tr[data-id]').length") as? Int == clusters.count)
            #expect(try await browser.evaluate("markers.getLayers().length") as? Int == clusters.count,
                    "one marker per cluster on the map")
            // The driven streets in view are drawn once the map has moved to the clusters.
            try await browser.waitFor("Object.values(map._layers).filter((l) => l instanceof L.Rectangle).length > 0")
            _ = try await browser.evaluate("document.querySelector('#queue tr[data-id=\"\(target.id)\"]').click()")
            try await browser.waitFor("document.querySelector('#detail h2')?.textContent.startsWith('Cluster \(target.id):')")
            _ = try await browser.evaluate("""
                (() => {
                  const input = [...document.querySelectorAll('#detail input')].find((i) => i.placeholder.startsWith('reason'));
                  input.value = 'gravel road, not ours';
                  [...document.querySelectorAll('#detail button')].find((b) => b.textContent === 'Reject').click();
                })()
                """)
            try await browser.waitFor("document.querySelector('#status').textContent === 'saved: reject'")
            #expect(try f.store.cluster(id: target.id)?.state == "rejected")
            let review = try #require(try f.store.reviews(cluster: target.id).last)
            #expect(review.action == "reject" && review.detail == "gravel road, not ours" && review.actor == "local")
            try await browser.waitFor("document.querySelector('#queue tr[data-id=\"\(target.id)\"]').lastChild.textContent === 'rejected'")
        }
    }

    @Test("keyboard: Enter on a queue row opens it; a cluster merged away meanwhile is not acted on, and the page says so")
    func keyboardAndVanishedCluster() async throws {
        try await ServerFixture.with { f in
            try await prepare(f)
            let (a, b) = try #require(ClusterEditTests.nearestPair(try f.store.clusters()))
            let browser = try DevToolsBrowser()
            defer { browser.close() }
            try await browser.open(f.base + "/")
            try await browser.waitFor("document.querySelector('#queue tr[data-id=\"\(a.id)\"]') !== null")
            _ = try await browser.evaluate("""
                (() => {
                  const row = document.querySelector('#queue tr[data-id="\(a.id)"]');
                  row.focus();
                  row.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
                })()
                """)
            try await browser.waitFor("document.querySelector('#detail h2')?.textContent.startsWith('Cluster \(a.id):')")
            #expect(try await browser.evaluate("document.activeElement === document.querySelector('#detail h2')") as? Bool == true,
                    "the opened cluster takes the focus")

            // Another reviewer merges it away; this page still shows it and splits it.
            let merge = try await f.post("/api/v1/clusters/\(b.id)/actions", body: Data(#"{"action":"merge","with":\#(a.id)}"#.utf8), headers: ["Content-Type": "application/json"])
            #expect(merge.status == 200, "\(merge.body)")
            let gone = try f.store.cluster(id: a.id) == nil
            _ = try await browser.evaluate("[...document.querySelectorAll('#detail button')].find((b) => b.textContent.startsWith('Split')).click()")
            if gone {
                try await browser.waitFor("document.querySelector('#detail').textContent.includes('no longer exists')")
                #expect(try await browser.evaluate("document.querySelectorAll('#detail button').length") as? Int == 0, "no buttons left to act on it")
            } else {
                // It kept its id but took in the other's events: what the reviewer saw changed.
                try await browser.waitFor("document.querySelector('#status').textContent.includes('changed meanwhile')")
            }
            #expect(try f.store.clusters().allSatisfy { try f.store.reviews(cluster: $0.id).allSatisfy { $0.action != "split" } }, "nothing was split")
        }
    }

    @Test("with API tokens the page asks for one instead of showing data")
    func pageAsksForToken() async throws {
        try await ServerFixture.with(tokens: [AccessTests.staff]) { f in
            let dom = try await Browser.dom(f.base + "/")
            #expect(dom.contains("id=\"signin\"") && dom.contains("staff token"), "the sign-in form is shown")
            #expect(!dom.contains("<tr data-id="), "no clusters without a token")
        }
    }

    @Test("the page carries its security headers; Leaflet is served from Debian's files only")
    func headers() async throws {
        try await ServerFixture.with { f in
            let (_, response) = try await URLSession.shared.data(from: URL(string: f.base + "/")!)
            let http = try #require(response as? HTTPURLResponse)
            #expect(http.value(forHTTPHeaderField: "Content-Security-Policy")?.contains("script-src 'self'") == true)
            #expect(http.value(forHTTPHeaderField: "X-Content-Type-Options") == "nosniff")
            #expect(try await f.get("/vendor/leaflet/leaflet.js").status == (FileManager.default.fileExists(atPath: "/usr/share/javascript/leaflet/leaflet.js") ? 200 : 404))
            #expect(try await f.get("/vendor/leaflet/..%2F..%2F..%2F..%2Fetc%2Fpasswd").status == 404)
            #expect(try await f.get("/vendor/leaflet/leaflet.css.map").status == 404)
        }
    }

    @Test("review actions: JSON only, reasons required, known assets added, every decision recorded")
    func actions() async throws {
        try await ServerFixture.with { f in
            try await prepare(f)
            let id = try #require(try f.store.clusters().first?.id)
            let path = "/api/v1/clusters/\(id)/actions"
            let form = try await f.post(path, body: Data("action=confirm".utf8), headers: ["Content-Type": "application/x-www-form-urlencoded"])
            #expect(form.status == 415, "a cross-site form cannot act")
            let json = ["Content-Type": "application/json"]
            #expect(try await f.post(path, body: Data(#"{"action":"reject"}"#.utf8), headers: json).status == 400)
            #expect(try await f.post(path, body: Data(#"{"action":"demolish"}"#.utf8), headers: json).status == 400)
            #expect(try await f.post("/api/v1/clusters/999999/actions", body: Data(#"{"action":"confirm"}"#.utf8), headers: json).status == 404)
            #expect(try await f.post(path, body: Data(#"{"action":"reject","reason":"<b>gravel</b> road","actor":"jdoe"}"#.utf8), headers: json).status == 200)
            #expect(try f.store.cluster(id: id)?.state == "rejected")
            #expect(try f.store.rejectedSpots().count == 1)
            #expect(try await f.post(path, body: Data(#"{"action":"reopen"}"#.utf8), headers: json).status == 200)
            #expect(try f.store.rejectedSpots().isEmpty, "reopened: the spot may be filed again")
            #expect(try await f.post(path, body: Data(#"{"action":"known_asset","kind":"casting"}"#.utf8), headers: json).status == 200)
            #expect(try f.store.knownFeatures().count == 1 && f.store.cluster(id: id)?.state == "known_asset")
            let history = try f.store.reviews(cluster: id).map(\.action)
            #expect(history == ["reject", "reopen", "known_asset"])
            let detail = try await f.get("/api/v1/clusters/\(id)")
            #expect(detail.body.contains("\"actor\":\"jdoe\"") && detail.body.contains("<b>gravel</b> road"), "recorded as given; the page escapes it")
        }
    }
}
