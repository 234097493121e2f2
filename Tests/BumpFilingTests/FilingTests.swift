import BumpCore
@testable import BumpFiling
import BumpStore
import Foundation
import Open311
import Testing

@Suite("filing over real HTTP with injected faults")
struct FilingFaultTests {
    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var posts: [FaultProxy.Fault] = []
        var gets: [FaultProxy.Fault] = []
        /// The filer's timeout; short only where the fault is a stall.
        var timeout = 30.0
        var testDescription: String { name }
    }

    static let scenarios = [
        Scenario(name: "5xx answers", posts: [.status(500), .status(503), .pass, .status(502), .status(500)]),
        // 6 s, well under the 20 s hold: a loaded CI machine once took over 3 s to answer the
        // service-definition GET, which is not the stall under test.
        Scenario(name: "timeouts after the server stored the request", posts: [.holdAfterForward(20), .pass, .holdAfterForward(20)], timeout: 6),
        Scenario(name: "connection dropped after the server stored the request", posts: [.dropAfterForward, .dropAfterForward, .pass, .dropAfterForward]),
        Scenario(name: "garbage answers after the server stored the request", posts: [.garbageAfterForward, .pass, .garbageAfterForward]),
        Scenario(name: "rate limited (429)", posts: [.status(429), .status(429), .status(429)]),
        Scenario(name: "the nearby check fails", gets: [.status(500), .dropAfterForward, .status(504)]),
    ]

    @Test("after every fault, exactly one request per pothole cluster", arguments: scenarios)
    func faults(_ scenario: Scenario) async throws {
        try await FilingFixture.with { f in
            var settings = f.settings(timeout: scenario.timeout)
            settings.unknownOutcomeDelay = scenario.timeout == 30 ? 0.5 : scenario.timeout
            let filer = try await f.filer(settings)
            f.proxy.script(posts: scenario.posts, gets: scenario.gets)
            let report = try await filer.run(maxWait: 120)
            #expect(report.queued == f.potholes.count)
            #expect(report.parked == 0 && report.waiting == 0, "\(report)")
            try f.expectExactlyOnePerPothole()
            let filings = try f.store.filings()
            #expect(filings.count == f.potholes.count)
            #expect(filings.allSatisfy { $0.state == .filed && $0.serviceRequestID != nil }, "\(filings.map(\.state))")
            #expect(Set(filings.map(\.clusterID)) == Set(f.potholes.map(\.id)), "never the casting, the weak or the rejected cluster")
            if scenario.posts.contains(where: \.losesTheAnswer) {
                let logs = try filings.flatMap { try f.store.filingLog(id: $0.id).map(\.note) }
                #expect(logs.contains { $0.contains("found our request") }, "a lost answer is recovered, not re-posted")
            }
        }
    }

    @Test("a 403 parks the filing with the server's words; after staff put it back it is filed once")
    func forbidden() async throws {
        try await FilingFixture.with { f in
            let filer = try await f.filer()
            f.proxy.script(posts: [.status(403)])
            let first = try await filer.run(maxWait: 120)
            #expect(first.parked == 1 && first.filed == f.potholes.count - 1)
            let parked = try #require(try f.store.filings(in: [.parked]).first)
            #expect(parked.lastError?.contains("injected fault 403") == true)
            #expect(try f.cityRequests().count == f.potholes.count - 1)
            // What `streetbump requests retry` does.
            var back = parked
            back.state = .posting
            back.attempts = 0
            back.nextAttemptAt = 0
            #expect(try f.store.saveFiling(back, note: "put back", at: Date()) != nil)
            let second = try await filer.run(maxWait: 120)
            #expect(second.filed == 1)
            try f.expectExactlyOnePerPothole()
        }
    }

    @Test("a redirected POST is not followed: nothing is filed under the request list's first entry")
    func redirect() async throws {
        try await FilingFixture.with(potholes: 3) { f in
            let filer = try await f.filer()
            // Followed, the redirect turns the POST into a GET of the list, whose first entry
            // (the request filed just before) would pass for the answer.
            f.proxy.script(posts: [.pass, .redirect("/open311/v2/requests.json")])
            let run = try await filer.run(maxWait: 120)
            #expect(run.parked == 1 && run.filed == 2)
            let parked = try #require(try f.store.filings(in: [.parked]).first)
            #expect(parked.lastError?.contains("HTTP 301: the endpoint redirects to /open311/v2/requests.json") == true, "\(parked.lastError ?? "")")
            let ids = try f.store.filings(in: [.filed]).compactMap(\.serviceRequestID)
            #expect(ids.count == 2 && Set(ids).count == 2, "\(ids)")
            #expect(try f.cityRequests().count == 2)
        }
    }

    @Test("retries are bounded: an endpoint that always fails parks every filing and gets nothing twice")
    func givesUp() async throws {
        try await FilingFixture.with(potholes: 2) { f in
            var settings = f.settings()
            settings.maxAttempts = 3
            let filer = try await f.filer(settings)
            f.proxy.script(posts: Array(repeating: .status(500), count: 50))
            let report = try await filer.run(maxWait: 120)
            #expect(report.parked == 2 && report.filed == 0)
            #expect(f.proxy.postsSeen == 6, "3 attempts each")
            #expect(try f.store.filings(in: [.parked]).allSatisfy { $0.lastError?.contains("HTTP 500") == true && $0.attempts == 3 })
            #expect(try f.cityRequests().isEmpty)
        }
    }

    @Test("filing again, re-clustering with new ids, and a nearby resident report never add a request")
    func idempotent() async throws {
        try await FilingFixture.with { f in
            // A resident already reported the first pothole, 3 m away.
            let resident = try f.cityReport(lat: f.potholes[0].lat + 0.000027, lon: f.potholes[0].lon, description: "big hole")
            let filer = try await f.filer()
            let first = try await filer.run(maxWait: 120)
            #expect(first.filed == f.potholes.count - 1 && first.linked == 1)
            let linked = try #require(try f.store.filings(ofCluster: f.potholes[0].id).first)
            #expect(linked.state == .linked && linked.serviceRequestID == resident.serviceRequestID)

            let again = try await filer.run(maxWait: 120)
            #expect(again == FilingReport())
            // Re-ingest: the same potholes come back as new cluster ids, 2 m off.
            let renumbered = f.potholes.map { p in
                FilingFixture.cluster(id: p.id + 1_000, lat: p.lat + 0.000018, cls: .pothole, confidence: 0.97)
            }
            try f.replaceClusters(renumbered)
            let plan = try filer.plan()
            #expect(plan.allSatisfy { $0.entry == nil || $0.entry?.state == .linked }, "\(plan.map(\.reason))")
            let third = try await filer.run(maxWait: 120)
            #expect(third.filed == 0 && third.linked == f.potholes.count)
            try f.expectExactlyOnePerPothole()  // the resident's report stands for the first pothole
            #expect(f.proxy.postsSeen == f.potholes.count - 1)
        }
    }

    @Test("a server that cuts answers to a page: the nearby check searches again in shorter windows and still finds the resident's report")
    func cutAnswers() async throws {
        try await FilingFixture.with(potholes: 2, pageLimit: 5) { f in
            // A resident reported the first pothole 20 days ago; a dozen reports elsewhere since,
            // the newest first, fill every answer of 5.
            let resident = try f.cityReport(lat: f.potholes[0].lat + 0.000027, at: f.cityClock.now.addingTimeInterval(-20 * 86_400))
            for k in 0..<12 { try f.cityReport(lat: 42.2 - Double(k) * 0.01, at: f.cityClock.now.addingTimeInterval(-Double(k) * 3_600)) }
            var settings = f.settings()
            settings.fullAnswer = 5
            let run = try await (try await f.filer(settings)).run(maxWait: 120)
            #expect(run.filed == 1 && run.linked == 1, "\(run)")
            #expect(try f.store.filings(ofCluster: f.potholes[0].id).first?.serviceRequestID == resident.serviceRequestID)
        }
    }

    @Test("a server that cuts answers and ignores the dates asked: the searches do not split without end")
    func cutAnswersIgnoringDates() async throws {
        try await FilingFixture.with(potholes: 1, pageLimit: 5) { f in
            for k in 0..<12 { try f.cityReport(lat: 42.2 - Double(k) * 0.01, at: f.cityClock.now.addingTimeInterval(-Double(k) * 3 * 86_400)) }
            f.proxy.script(gets: Array(repeating: .ignore(["start_date", "end_date"]), count: 5_000))
            var settings = f.settings()
            settings.fullAnswer = 5
            let run = try await (try await f.filer(settings)).run(maxWait: 120)
            #expect(run.filed == 1, "\(run)")
            // Services, our own request, others nearby, the filing's check: a handful each, not thousands.
            #expect(f.proxy.getsSeen < 20, "\(f.proxy.getsSeen) GETs")
        }
    }

    @Test("a resident's request that was closed is not taken for the pothole, even from a server that ignores the status filter")
    func closedNearbyIgnored() async throws {
        try await FilingFixture.with(potholes: 1) { f in
            let resident = try f.cityReport(lat: f.potholes[0].lat + 0.000027, lon: f.potholes[0].lon, description: "big hole")
            try f.city.setCityRequestStatus(id: resident.serviceRequestID, status: "closed", notes: "patched", at: f.cityClock.now)
            f.proxy.script(gets: Array(repeating: .ignore(["status"]), count: 50))
            let report = try await (try await f.filer()).run(maxWait: 120)
            #expect(report.filed == 1 && report.linked == 0, "\(report)")
            #expect(try f.store.filings().first?.serviceRequestID != resident.serviceRequestID)
        }
    }

    @Test("a cluster staff reject after it was queued is never sent; a renumbered fixed pothole waits for its grace period")
    func rejectAfterQueued() async throws {
        try await FilingFixture.with(potholes: 2) { f in
            let filer = try await f.filer()
            let queued = try filer.enqueueQualifying()
            #expect(queued.count == 2)
            #expect(try f.store.review(cluster: f.potholes[0].id, .reject, detail: "a steel plate", actor: "jdoe", at: Date()))
            let report = try await filer.run(maxWait: 120)
            #expect(report.filed == 1)
            #expect(try f.store.filings(ofCluster: f.potholes[0].id).map(\.state) == [.cancelled])
            #expect(try f.cityRequests().count == 1)
            // The other pothole is fixed; re-clustering then gives it a new id.
            let id = try #require(try f.store.filings(ofCluster: f.potholes[1].id).first?.serviceRequestID)
            try f.city.setCityRequestStatus(id: id, status: "closed", notes: "patched", at: f.cityClock.now)
            #expect(await filer.syncStatus() == 1)
            try f.replaceClusters([FilingFixture.cluster(id: 500, lat: f.potholes[1].lat, cls: .pothole, confidence: 0.95)])
            let plan = try filer.plan()
            #expect(plan.first?.entry == nil && plan.first?.reason.contains("closed") == true, "\(plan.map(\.reason))")
            #expect(try await filer.run(maxWait: 120).filed == 0)
        }
    }

    @Test("a queued pothole staff reject under a new cluster id (re-clustered or merged) is not sent")
    func rejectAfterRenumber() async throws {
        try await FilingFixture.with(potholes: 1) { f in
            let filer = try await f.filer()
            #expect(try filer.enqueueQualifying().count == 1)
            // Re-clustering renumbers the spot; staff reject it under its new id.
            try f.replaceClusters([FilingFixture.cluster(id: 600, lat: f.potholes[0].lat, cls: .pothole, confidence: 0.95)])
            #expect(try f.store.review(cluster: 600, .reject, detail: "a steel plate", actor: "jdoe", at: Date()))
            #expect(try await filer.run(maxWait: 120).filed == 0)
            let entry = try #require(try f.store.filings(ofCluster: f.potholes[0].id).first)
            #expect(entry.state == .cancelled)
            #expect(try f.cityRequests().isEmpty)
        }
    }

    @Test("an endpoint that assigns ids later: a POST whose answer is lost is parked, not posted again")
    func lostAnswerWithTokens() async throws {
        try await FilingFixture.with(potholes: 2, idDelay: 60) { f in
            let filer = try await f.filer()
            // The first answer is a token; the second POST is stored, its answer lost. Until
            // the server gives it an id, its request list does not show it.
            f.proxy.script(posts: [.pass, .dropAfterForward])
            let report = try await filer.run(maxWait: 120)
            #expect(f.proxy.postsSeen == 2, "no second POST for the lost one")
            #expect(report.filed == 1 && report.parked == 1)
            let parked = try #require(try f.store.filings(in: [.parked]).first)
            #expect(parked.lastError?.contains("outcome is unknown") == true)
            #expect(try f.store.filingLog(id: parked.id).last?.note.contains(parked.reference) == true)
            // Once the server gives it an id and lists it, the status sync adopts it.
            f.cityClock.advance(61)
            _ = await filer.syncStatus()
            let adopted = try #require(try f.store.filings(ofCluster: parked.clusterID).first)
            #expect(adopted.state == .filed && adopted.serviceRequestID != nil, "\(adopted.state)")
            try f.expectExactlyOnePerPothole()
        }
    }

    @Test("reopen lifts a rejection at the spot under a new id, and takes back staff's known asset there")
    func reopenBySpot() async throws {
        try await FilingFixture.with(potholes: 1) { f in
            let p = f.potholes[0]
            #expect(try f.store.review(cluster: p.id, .reject, detail: nil, actor: "jdoe", at: Date()))
            #expect(try f.store.rejectedSpots().count == 1)
            // Re-clustering renumbers the spot; staff reopen it there.
            try f.replaceClusters([FilingFixture.cluster(id: 700, lat: p.lat, cls: .pothole, confidence: 0.95)])
            #expect(try f.store.review(cluster: 700, .reopen, detail: nil, actor: "jdoe", at: Date()))
            #expect(try f.store.rejectedSpots().isEmpty)
            // Marked a known asset twice (one feature), renumbered, reopened: the feature goes.
            for _ in 0..<2 {
                #expect(try f.store.review(cluster: 700, .knownAsset, detail: nil, assetKind: .casting, actor: "jdoe", at: Date()))
            }
            #expect(try f.store.knownFeatures().count == 1)
            try f.replaceClusters([FilingFixture.cluster(id: 701, lat: p.lat, cls: .pothole, confidence: 0.95)])
            #expect(try f.store.review(cluster: 701, .reopen, detail: nil, actor: "jdoe", at: Date()))
            #expect(try f.store.knownFeatures().isEmpty)
            let filer = try await f.filer()
            #expect(try await filer.run(maxWait: 60).filed == 1)
        }
    }

    @Test("Retry-After on a 429 sets the wait before the next attempt")
    func retryAfter() async throws {
        try await FilingFixture.with(potholes: 1) { f in
            let filer = try await f.filer()
            f.proxy.script(posts: [.statusRetryAfter(429, "3")])
            _ = try filer.enqueueQualifying()
            let started = Date().timeIntervalSince1970
            let pass = await filer.processDue()
            #expect(pass.filed == 0 && pass.waiting == 1)
            let entry = try #require(try f.store.filings().first)
            // The test settings back off at most 0.3 s: only the header explains 3 s.
            #expect(entry.nextAttemptAt - started >= 2.9, "\(entry.nextAttemptAt - started)")
            #expect(entry.lastError?.contains("asked to wait 3 s") == true, "\(entry.lastError ?? "")")
        }
    }

    @Test("an entry that waited months still finds the request its lost POST made, in 90-day windows")
    func oldEntryFindsItsRequest() async throws {
        try await FilingFixture.with(potholes: 1) { f in
            let plan = try await f.filer().plan()
            let queued = try #require(try f.store.enqueueFilings(plan.compactMap(\.entry), at: Date()).first)
            // Its POST landed 50 days after it was queued; the answer was lost.
            let made = Date().addingTimeInterval(50 * 86_400)
            try f.cityReport(lat: queued.lat, lon: queued.lon, description: queued.description, at: made)
            // Looked at again 200 days after it was queued.
            let later = Date().addingTimeInterval(200 * 86_400)
            let filer = try await f.filer(now: { later })
            _ = await filer.processDue()
            let entry = try #require(try f.store.filings().first)
            #expect(entry.state == .filed && entry.serviceRequestID != nil, "\(entry.state)")
            #expect(f.proxy.postsSeen == 0, "found, not posted again")
        }
    }

    @Test("an absurd Retry-After is capped at a day, not a crash")
    func retryAfterCapped() async throws {
        try await FilingFixture.with(potholes: 1) { f in
            let filer = try await f.filer()
            f.proxy.script(posts: [.statusRetryAfter(503, "99999999999999999999")])
            _ = try filer.enqueueQualifying()
            let started = Date().timeIntervalSince1970
            #expect(await filer.processDue().waiting == 1)
            let entry = try #require(try f.store.filings().first)
            #expect(entry.nextAttemptAt - started > 86_000 && entry.nextAttemptAt - started < 86_500)
        }
    }

    @Test("a deferred-id endpoint: tokens are resolved, and a closed request closes the filing")
    func tokensAndStatus() async throws {
        try await FilingFixture.with(potholes: 3, idDelay: 60) { f in
            let filer = try await f.filer()
            let report = try await filer.run(maxWait: 120)
            #expect(report.filed == 3)
            #expect(try f.store.filings().allSatisfy { $0.token != nil && $0.serviceRequestID == nil })
            f.cityClock.advance(61)
            #expect(await filer.syncStatus() == 0)
            let filed = try f.store.filings()
            #expect(filed.allSatisfy { $0.serviceRequestID != nil }, "every token resolved")
            let first = try #require(filed.first?.serviceRequestID)
            try f.city.setCityRequestStatus(id: first, status: "closed", notes: "patched", at: f.cityClock.now)
            #expect(await filer.syncStatus() == 1)
            let closed = try #require(try f.store.filings(in: [.closed]).first)
            #expect(closed.serviceRequestID == first && closed.statusNotes == "patched" && closed.closedAt != nil)
            #expect(await filer.syncStatus() == 0, "closing is reported once")
            try f.expectExactlyOnePerPothole()
        }
    }

    @Test("a fixed pothole hit again after the grace period gets a new request that names the old one")
    func reopen() async throws {
        try await FilingFixture.with(potholes: 1) { f in
            let filer = try await f.filer()
            _ = try await filer.run(maxWait: 120)
            let old = try #require(try f.store.filings().first?.serviceRequestID)
            try f.city.setCityRequestStatus(id: old, status: "closed", notes: "patched", at: Date())
            #expect(await filer.syncStatus() == 1)
            // Hits from trips driven within the grace period do not reopen it...
            let soon = Date().addingTimeInterval(3 * 86_400).timeIntervalSince1970 * 1_000
            try addTrips(f, times: [soon, soon + 1_000])
            #expect(try await filer.run(maxWait: 120).queued == 0)
            // ...hits from two trips after it do.
            let later = Date().addingTimeInterval(30 * 86_400).timeIntervalSince1970 * 1_000
            try addTrips(f, times: [later, later + 60_000], first: 10)
            let report = try await filer.run(maxWait: 120)
            #expect(report.filed == 1)
            let second = try #require(try f.store.filings(ofCluster: 1).last)
            #expect(second.generation == 2 && second.previousRequestID == old)
            let text = try #require(try f.cityRequests().first { $0.serviceRequestID == second.serviceRequestID }?.description)
            #expect(text.contains("Reported before as request \(old)"))
        }
    }

    /// Stores one trip per time with an event on pothole 1 and assigns every event to it.
    func addTrips(_ f: FilingFixture, times: [Double], first: Int = 0) throws {
        let p = f.potholes[0]
        let trips = times.enumerated().map { i, t in
            let e = BumpEvent(trip: 0, t: t, lat: p.lat, lon: p.lon, accuracy: 4, speed: 10, heading: 0, peak: 6)
            return TripRecord(name: "trip-\(first + i)", device: nil, start: t - 1_000, end: t + 1_000, samples: 100, fixes: 2, rate: 50,
                              trimmedEvents: 0, events: [StoredEvent(event: e, x: p.x, y: p.y, key: UInt64(first + i))], coverage: [])
        }
        try f.store.ingest(source: nil, trips: trips)
        try f.replaceClusters(try f.store.clusters(), assignAllEventsTo: p.id)
    }
}

extension FaultProxy.Fault {
    /// The server stored the request but the filer never learnt its id.
    var losesTheAnswer: Bool {
        switch self {
        case .dropAfterForward, .garbageAfterForward, .holdAfterForward: true
        case .pass, .status, .statusRetryAfter, .redirect, .slow, .ignore: false
        }
    }
}

@Suite("filing process killed mid-request")
struct FilingCrashTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func streetbump(_ arguments: [String], environment: [String: String]) throws -> Process {
        let p = Process()
        p.executableURL = Self.packageRoot.appendingPathComponent(".build/debug/streetbump")
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STREETBUMP_") }.merging(environment) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Waits for a child on a thread of its own: the child talks to servers in this process,
    /// which need the cooperative threads a blocking wait would hold.
    func exit(of process: Process) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                process.waitUntilExit()
                c.resume()
            }
        }
    }

    @Test("SIGKILL between the POST and its commit: the restarted filer finds the request and files no duplicate")
    func killedBetweenPostAndCommit() async throws {
        try await FilingFixture.with(potholes: 3) { f in
            // The server stores the first POST; its answer never comes while the filer waits.
            f.proxy.script(posts: [.holdAfterForward(300)])
            let environment = [
                "STREETBUMP_OPEN311_URL": f.baseURL.absoluteString, "STREETBUMP_OPEN311_API_KEY": FilingFixture.key,
                // The killed filer's entry is leased for timeout + one more timeout (10 s); the
                // restart waits that out (`file` waits up to 30 s for retries) and then looks.
                "STREETBUMP_OPEN311_TIMEOUT": "5",
            ]
            let filer = try streetbump(["file", "--db", f.store.path], environment: environment)
            let deadline = Date().addingTimeInterval(120)
            while try f.cityRequests().isEmpty && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try f.cityRequests().count == 1, "the server stored the first request")
            #expect(try f.store.filings(in: [.posting]).count == 1, "the filer committed its intent and waits for the answer")
            kill(filer.processIdentifier, SIGKILL)
            await exit(of: filer)
            #expect(filer.terminationReason == .uncaughtSignal)

            let restart = try streetbump(["file", "--db", f.store.path], environment: environment)
            await exit(of: restart)
            #expect(restart.terminationStatus == 0)
            try f.expectExactlyOnePerPothole()
            let filings = try f.store.filings()
            #expect(filings.count == 3 && filings.allSatisfy { $0.state == .filed })
            let notes = try f.store.filingLog(id: filings[0].id).map(\.note)
            #expect(notes.contains { $0.contains("found our request") }, "\(notes)")
        }
    }
}

extension FilingCrashTests {
    @Test("the filer killed at 20 points, restarted after each: exactly one request per pothole, the store intact")
    func killedAtTwentyPoints() async throws {
        try await FilingFixture.with(potholes: 24) { f in
            // Slow answers, so kills land before, during and after POSTs and their commits.
            f.proxy.script(posts: Array(repeating: .slow(0.2), count: 400), gets: Array(repeating: .slow(0.05), count: 400))
            let environment = [
                "STREETBUMP_OPEN311_URL": f.baseURL.absoluteString, "STREETBUMP_OPEN311_API_KEY": FilingFixture.key,
                // A killed filer's lease is timeout + one more timeout (2 s) before a restart may look.
                "STREETBUMP_OPEN311_TIMEOUT": "1",
            ]
            // Runs after the last filing exit on their own, so what matters is how many kills
            // left work behind (a machine under load files fewer per run, never more).
            var killedWithWorkLeft = 0
            for point in 0..<20 {
                let filer = try streetbump(["file", "--db", f.store.path], environment: environment)
                try await Task.sleep(for: .milliseconds(200 + 60 * (point % 10)))
                let killed = filer.isRunning
                if killed { kill(filer.processIdentifier, SIGKILL) }
                await exit(of: filer)
                let filings = try f.store.filings()
                if killed && (filings.count < 24 || filings.contains { $0.state != .filed }) { killedWithWorkLeft += 1 }
            }
            #expect(killedWithWorkLeft >= 8, "kills landed while potholes were still to be filed (\(killedWithWorkLeft))")
            let last = try streetbump(["file", "--db", f.store.path, "--wait", "60"], environment: environment)
            await exit(of: last)
            #expect(last.terminationStatus == 0)
            try f.expectExactlyOnePerPothole()
            let states = try f.store.filings().map(\.state)
            #expect(states.allSatisfy { $0 == .filed }, "\(states)")
            #expect(try f.store.integrityCheck() == "ok")
        }
    }
}

@Suite("filing policy and the dispatcher's text")
struct FilingPolicyTests {
    let settings = FilingSettings(endpoint: GeoReportEndpoint(baseURL: URL(string: "http://city.example/open311/v2")!, apiKey: nil), serviceCode: "pothole")

    @Test("only confident potholes and staff-confirmed clusters qualify; rejected never")
    func qualifies() {
        let pothole = FilingFixture.cluster(id: 1, lat: 42.35, cls: .pothole, confidence: 0.9)
        var weak = pothole
        weak.confidence = 0.2
        var confirmed = weak
        confirmed.state = "confirmed"
        var rejected = pothole
        rejected.state = "rejected"
        var casting = pothole
        casting.cls = .casting
        #expect(FilingPolicy.qualifies(pothole, settings: settings))
        #expect(!FilingPolicy.qualifies(weak, settings: settings))
        #expect(FilingPolicy.qualifies(confirmed, settings: settings))
        #expect(!FilingPolicy.qualifies(rejected, settings: settings))
        #expect(!FilingPolicy.qualifies(casting, settings: settings))
    }

    @Test("of two clusters within the radius the stronger is filed and the other waits, then links")
    func nearbyClusters() {
        let strong = FilingFixture.cluster(id: 1, lat: 42.35, cls: .pothole, confidence: 0.95)
        let near = FilingFixture.cluster(id: 2, lat: 42.35012, cls: .pothole, confidence: 0.8)  // about 13 m
        let far = FilingFixture.cluster(id: 3, lat: 42.351, cls: .pothole, confidence: 0.8)
        let decisions = FilingPolicy.decide([.init(cluster: near), .init(cluster: far), .init(cluster: strong)], filings: [],
                                            settings: settings, describe: { _, _, _, r in r }, now: Date())
        #expect(decisions.map(\.clusterID) == [1, 2, 3])
        #expect(decisions[0].entry?.state == .queued && decisions[2].entry?.state == .queued)
        #expect(decisions[1].entry == nil && decisions[1].reason.contains("waits"))
        var filed = decisions[0].entry!
        filed.id = 7
        filed.state = .filed
        filed.serviceRequestID = "R-1"
        let later = FilingPolicy.decide([.init(cluster: near)], filings: [filed], settings: settings, describe: { _, _, _, r in r }, now: Date())
        #expect(later.first?.entry?.state == .linked && later.first?.entry?.serviceRequestID == "R-1")
    }

    @Test("the description is plain text under 4,000 characters with the evidence and the reference")
    func description() {
        var c = FilingFixture.cluster(id: 17, lat: 42.36025, cls: .pothole, confidence: 0.87)
        c.summary.devices = 5
        c.summary.oppositePasses = 3
        let text = RequestDescription.make(cluster: c, generation: 1, previous: nil, reference: "streetbump-abc",
                                           reviewURL: "https://review.example/#cluster={id}", crs: "EPSG:2249",
                                           nearestAsset: (kind: "casting", ref: "<MH-12>", metres: 6.4))
        #expect(text.contains("Hit by 8 of the 10 trips that passed it (80%); 8 trips from 5 devices"))
        #expect(text.contains("Severity 4 of 5") && text.contains("87%") && text.contains("EPSG:2249"))
        #expect(text.contains("https://review.example/#cluster=17") && text.hasSuffix("Ref: streetbump-abc"))
        #expect(!text.contains("<") && !text.contains(">"))
        let long = RequestDescription.make(cluster: c, generation: 2, previous: nil, reference: "streetbump-abc",
                                           reviewURL: String(repeating: "x", count: 5_000), crs: nil, nearestAsset: nil)
        #expect(long.count <= 4_000 && long.hasSuffix("Ref: streetbump-abc"))
    }

    @Test("required attributes are answered from the configuration or the severity, else start-up fails naming them")
    func attributes() throws {
        let definition = ServiceDefinition(serviceCode: "pothole", attributes: [
            ServiceAttribute(code: "size", datatype: "singlevaluelist", required: true, order: 1, description: "Pothole size",
                             values: ["small", "medium", "large", "huge"].map { AttributeValue(key: $0, name: $0) }),
            ServiceAttribute(code: "lane", datatype: "string", required: true, order: 2, description: "Which lane"),
            ServiceAttribute(code: "note", datatype: "string", required: false, order: 3, description: "Anything else"),
            ServiceAttribute(code: "hazards", datatype: "multivaluelist", required: false, order: 4, description: "What else is there",
                             values: ["debris", "water"].map { AttributeValue(key: $0, name: $0) }),
        ])
        #expect(throws: FilingError.self) { try AttributeAnswers(definition: definition, configured: [:]) }
        do {
            _ = try AttributeAnswers(definition: definition, configured: [:])
        } catch {
            #expect("\(error)".contains("requires attribute 'lane'"))
        }
        let answers = try AttributeAnswers(definition: definition, configured: ["lane": "right"])
        #expect(answers.values(severity: 1) == ["size": "small", "lane": "right"])
        #expect(answers.values(severity: 5) == ["size": "huge", "lane": "right"])
        #expect(throws: FilingError.self) { try AttributeAnswers(definition: definition, configured: ["lane": "x", "size": "gigantic"]) }
        #expect(throws: FilingError.self) { try AttributeAnswers(definition: definition, configured: ["lane": "x", "colour": "red"]) }
        // Several values of a multivaluelist, configured as a|b, go out as attribute[code][] each.
        let listed = try AttributeAnswers(definition: definition, configured: ["lane": "right", "hazards": "debris|water"])
        #expect(listed.lists(severity: 3) == ["hazards": ["debris", "water"]] && listed.values(severity: 3)["hazards"] == nil)
        #expect(throws: FilingError.self) { try AttributeAnswers(definition: definition, configured: ["lane": "x", "hazards": "debris|lava"]) }
        var new = NewRequest(serviceCode: "pothole", lat: 42.35, long: -71.06, attributes: ["lane": "right"])
        new.listAttributes = listed.lists(severity: 3)
        let fields = new.formFields(apiKey: nil, jurisdictionID: nil)
        #expect(fields.filter { $0.0 == "attribute[hazards][]" }.map(\.1) == ["debris", "water"])
    }

    @Test("backoff doubles from the base, is capped, and jitters within its upper half")
    func backoff() {
        var s = settings
        s.backoffBase = 2
        s.backoffCap = 60
        #expect(s.backoff(attempt: 1, random: 1) == 2)
        #expect(s.backoff(attempt: 3, random: 1) == 8)
        #expect(s.backoff(attempt: 3, random: 0) == 4)
        #expect(s.backoff(attempt: 20, random: 1) == 60)
    }
}
