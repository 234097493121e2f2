import BumpCore
import BumpStore
import Foundation
import Logging
import Open311

/// A filing problem for the person at the terminal.
public struct FilingError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What one pass of the filer did.
public struct FilingReport: Sendable, Equatable {
    public var queued = 0
    public var filed = 0
    public var linked = 0
    public var parked = 0
    /// Entries waiting for a retry (backoff) when the pass ended.
    public var waiting = 0
    public var closed = 0
    public init() {}
}

/// Files pothole clusters to a GeoReport v2 endpoint through the store's outbox, so that each
/// cluster generation gets at most one request whatever fails or crashes:
///
/// 1. An outbox entry is committed before anything is sent (`queued`).
/// 2. Before every POST the endpoint is searched for an open request of the same service near
///    the spot; the entry's unique reference in a description marks our own. Found: link or
///    adopt it, do not post.
/// 3. The entry is committed as `posting` before the POST, and as `filed` with the id after.
///    A crash or a lost answer in between leaves `posting`, and step 2 finds the request on the
///    next attempt instead of posting it again.
/// 4. Temporary failures (5xx, 429, timeouts, resets, garbage) retry with exponential backoff
///    and jitter, at most `maxAttempts`; refusals (4xx) park the entry with the server's words.
public final class Filer: Sendable {
    public let store: TraceStore
    public let settings: FilingSettings
    let client: GeoReportClient
    let answers: AttributeAnswers
    let logger: Logger
    let pacer: Pacer
    let now: @Sendable () -> Date
    /// The store's CRS, named in descriptions.
    let crs: String?
    /// The service's type as the endpoint lists it: realtime, batch or blackbox.
    let serviceType: String

    /// Connects to the endpoint and checks that it offers the service and that every attribute
    /// it requires can be answered.
    public static func connect(store: TraceStore, settings: FilingSettings, logger: Logger,
                               now: @escaping @Sendable () -> Date = { Date() }) async throws -> Filer {
        let client = GeoReportClient(endpoint: settings.endpoint)
        let services: [Service]
        do {
            services = try await client.services()
        } catch {
            throw FilingError("cannot reach the Open311 endpoint \(settings.endpoint.baseURL): \(error.message)")
        }
        guard let service = services.first(where: { $0.serviceCode == settings.serviceCode }) else {
            let offered = services.prefix(20).map { "\($0.serviceCode) (\($0.serviceName))" }.joined(separator: ", ")
            throw FilingError("the endpoint \(settings.endpoint.baseURL) has no service '\(settings.serviceCode)'; it offers: \(offered.isEmpty ? "nothing" : offered). Set open311_service_code.")
        }
        var definition = ServiceDefinition(serviceCode: service.serviceCode, attributes: [])
        if service.metadata {
            do {
                definition = try await client.definition(of: service.serviceCode)
            } catch {
                throw FilingError("cannot read the definition of service '\(service.serviceCode)': \(error.message)")
            }
        }
        let answers = try AttributeAnswers(definition: definition, configured: settings.attributes)
        return Filer(store: store, settings: settings, client: client, answers: answers, logger: logger,
                     now: now, crs: try? store.setting("crs"), serviceType: service.type)
    }

    init(store: TraceStore, settings: FilingSettings, client: GeoReportClient, answers: AttributeAnswers, logger: Logger,
         now: @escaping @Sendable () -> Date, crs: String?, serviceType: String = "realtime") {
        self.serviceType = serviceType
        self.store = store
        self.settings = settings
        self.client = client
        self.answers = answers
        self.logger = logger
        self.pacer = Pacer(interval: 60 / max(settings.postsPerMinute, 0.001))
        self.now = now
        self.crs = crs
    }

    // MARK: Choosing what to file

    /// What the policy would do with every cluster now, without changing anything.
    public func plan() throws -> [FilingPolicy.Decision] {
        let filings = try store.filings()
        let closedClusters = Set(filings.filter { $0.state == .closed }.map(\.clusterID))
        let candidates = try store.clusters().map { c in
            FilingPolicy.Candidate(cluster: c, eventTimes: closedClusters.contains(c.id) ? try store.eventTimes(ofCluster: c.id) : [])
        }
        let known = try store.knownFeatures()
        return FilingPolicy.decide(candidates, filings: filings, settings: settings, rejected: try store.rejectedSpots(), describe: { c, generation, previous, reference in
            RequestDescription.make(cluster: c, generation: generation, previous: previous, reference: reference,
                                    reviewURL: self.settings.reviewURL, crs: self.crs, nearestAsset: Self.nearestAsset(known, to: c))
        }, now: now())
    }

    /// Queues every cluster the policy picks. Returns the entries added.
    @discardableResult
    public func enqueueQualifying() throws -> [FilingRecord] {
        let added = try store.enqueueFilings(plan().compactMap(\.entry), at: now())
        for e in added {
            logger.info("queued cluster \(e.clusterID) generation \(e.generation)\(e.state == .linked ? " (linked to request \(e.serviceRequestID ?? "?"))" : "")")
        }
        return added
    }

    /// Staff filing by hand: marks the cluster confirmed and queues it (unless it already has a live request).
    public func enqueueByStaff(cluster id: Int64) throws -> FilingRecord? {
        guard let c = try store.cluster(id: id) else { throw FilingError("no cluster \(id)") }
        if c.state != "confirmed" { try store.setClusterState(id, "confirmed") }
        let decisions = try plan().filter { $0.clusterID == id }
        guard let entry = decisions.first?.entry else {
            throw FilingError("cluster \(id) is not filed: \(decisions.first?.reason ?? "it does not qualify")")
        }
        return try store.enqueueFilings([entry], at: now()).first
    }

    // MARK: Sending

    /// Works through every entry that is due once: `queued` and `posting` whose backoff expired.
    public func processDue() async -> FilingReport {
        var report = FilingReport()
        let due: [FilingRecord]
        do {
            due = try store.filings(in: [.queued, .posting]).filter { $0.nextAttemptAt <= now().timeIntervalSince1970 }
        } catch {
            logger.error("cannot read the outbox: \(error)")
            return report
        }
        for f in due {
            if Task.isCancelled { break }
            switch await process(f) {
            case .filed: report.filed += 1
            case .linked: report.linked += 1
            case .parked: report.parked += 1
            case .waiting, .skipped: break
            }
        }
        report.waiting = (try? store.filings(in: [.queued, .posting]).count) ?? 0
        return report
    }

    /// One CLI run: queue what qualifies, send, retry what failed while retries fall within
    /// `maxWait` seconds, then sync statuses.
    public func run(maxWait: Double) async throws -> FilingReport {
        var report = FilingReport()
        let deadline = now().addingTimeInterval(maxWait)
        while !Task.isCancelled {
            // Queue again each round: a cluster waiting for a nearby request's id can link now.
            let added = try enqueueQualifying()
            report.queued += added.filter { $0.state == .queued }.count
            report.linked += added.filter { $0.state == .linked }.count
            let pass = await processDue()
            report.filed += pass.filed
            report.linked += pass.linked
            report.parked += pass.parked
            report.waiting = pass.waiting
            if pass.filed > 0 { continue }
            let next = try store.filings(in: [.queued, .posting]).map(\.nextAttemptAt).min()
            guard let next, next <= deadline.timeIntervalSince1970 else { break }
            let pause = max(next - now().timeIntervalSince1970, 0.01)
            try await Task.sleep(for: .seconds(pause))
        }
        report.closed = await syncStatus()
        return report
    }

    enum Outcome { case filed, linked, parked, waiting, skipped }

    func process(_ entry: FilingRecord) async -> Outcome {
        var f = entry
        await pacer.wait()
        // 1. Already on the server? (Our own earlier POST whose answer was lost, or a report by someone else.)
        let existing: (request: ServiceRequest, ours: Bool, metres: Double)?
        do {
            existing = try await findExisting(f)
        } catch {
            f.attempts += 1
            return retryOrPark(f, error: error, what: "the nearby check failed", posted: false)
        }
        // (Not for `requests retry`, which puts attempts back to 0: staff have looked.)
        if existing == nil, f.state == .posting, f.attempts > 0, f.lastError?.hasPrefix(Self.notStored) != true, defersIDs() {
            // Our last POST may have landed, and this endpoint lists a request only once it has
            // an id: not finding it proves nothing, and posting again could file it twice.
            f.state = .parked
            logger.warning("filing \(f.id) (cluster \(f.clusterID)) parked: outcome unknown on an endpoint that assigns ids later")
            return save(f, "parked for staff: \(f.lastError ?? "") and this endpoint lists requests only once they get an id, so ours may exist without showing yet: look for \(f.reference) in the city's queue before `streetbump requests retry`") != nil ? .parked : .skipped
        }
        if let (r, ours, metres) = existing {
            f.state = ours ? .filed : .linked
            f.serviceRequestID = r.serviceRequestID
            f.requestStatus = r.status
            f.filedAt = now().timeIntervalSince1970
            f.lastError = nil
            let note = ours
                ? "found our request \(r.serviceRequestID) on the server (the answer to an earlier POST was lost); not posting again"
                : "open request \(r.serviceRequestID) of the same service is \(Int(metres.rounded())) m away; linked instead of filing"
            return save(f, note) != nil ? (ours ? .filed : .linked) : .skipped
        }
        // Staff may have rejected it (or marked it a known asset) since it was queued.
        if let why = staffDecisionAgainst(f) {
            f.state = .cancelled
            save(f, "cancelled: \(why)")
            return .skipped
        }
        // 2. Commit the intent, then post. The new attempt time is a lease: no other filer
        // takes this entry while its POST may be in flight.
        f.state = .posting
        f.attempts += 1
        // From here until an answer, the POST may land: no earlier "not stored" may vouch for it.
        f.lastError = nil
        f.nextAttemptAt = now().timeIntervalSince1970 + settings.endpoint.timeout + (settings.unknownOutcomeDelay ?? settings.endpoint.timeout)
        guard let marked = save(f, "posting (attempt \(f.attempts))") else { return .skipped }
        f = marked
        let receipt: RequestReceipt
        do {
            receipt = try await client.submit(newRequest(for: f))
        } catch {
            // No answer, garbage or a gateway's 5xx: the server may have stored it. A 429 says
            // it did not (and a 4xx parks the entry).
            let what = error.kind == .serverFailure(status: 429) ? Self.notStored
                : error.isRetryable ? "the POST's outcome is unknown" : "the POST was refused"
            return retryOrPark(f, error: error, what: what, posted: true)
        }
        // 3. Record the answer.
        f.state = .filed
        f.serviceRequestID = receipt.serviceRequestID
        f.token = receipt.token
        f.requestStatus = "open"
        f.filedAt = now().timeIntervalSince1970
        f.lastError = nil
        if f.serviceRequestID == nil, let token = receipt.token {
            f.serviceRequestID = try? await client.token(token)
        }
        let id = f.serviceRequestID ?? "token \(f.token ?? "?")"
        logger.info("filed cluster \(f.clusterID) as request \(id)")
        return save(f, "filed as request \(id)" + (receipt.serviceNotice.map { "; notice: \($0)" } ?? "")) != nil ? .filed : .skipped
    }

    /// How `lastError` begins after a POST the server said it did not store (429). Any other
    /// entry in `posting` may have a request on the server: its POST failed without a clear
    /// answer, or the process stopped during it.
    static let notStored = "the POST was refused for now"

    /// Whether the endpoint hands out ids later (tokens first): its service is not `realtime`,
    /// or it has answered one of our POSTs with a token.
    func defersIDs() -> Bool {
        if serviceType != "realtime" { return true }
        return (try? store.filings().contains { $0.endpoint == settings.endpointName && $0.token != nil }) ?? false
    }

    /// Why staff do not want the entry's pothole filed, if they do not: its cluster rejected or
    /// marked a known asset, or, as re-clustering and merges renumber clusters, a cluster at
    /// the same spot (`DecisionSpot`) rejected or marked one under another id.
    func staffDecisionAgainst(_ f: FilingRecord) -> String? {
        let own = try? store.cluster(id: f.clusterID)
        if let c = own, c.state == "rejected" || c.state == "known_asset" { return "staff marked the cluster \(c.state)" }
        if own?.state == "confirmed" { return nil }
        let spot = (f.lat, f.lon)
        if let rejected = try? store.rejectedSpots(), DecisionSpot.covers(rejected, spot) {
            return "staff rejected a cluster at this spot"
        }
        if let clusters = try? store.clusters(),
           let asset = clusters.first(where: { $0.state == "known_asset" && DecisionSpot.covers([spot], ($0.lat, $0.lon)) }) {
            return "staff marked cluster \(asset.id) at this spot a known asset"
        }
        return nil
    }

    /// After a failure: park on a refusal or when attempts run out; otherwise back off. When a
    /// POST's outcome is unknown (no answer, garbage, a 5xx from a gateway), the server may
    /// still be working on it: the retry waits at least one more timeout, so that the nearby
    /// check before it sees the request if it landed.
    func retryOrPark(_ entry: FilingRecord, error: GeoReportError, what: String, posted: Bool) -> Outcome {
        var f = entry
        f.lastError = "\(what): \(error.message)"
        if !error.isRetryable || f.attempts >= settings.maxAttempts {
            f.state = .parked
            let why = error.isRetryable ? "gave up after \(f.attempts) attempts" : "the endpoint refused it"
            logger.warning("filing \(f.id) (cluster \(f.clusterID)) parked: \(why): \(error.message)")
            return save(f, "parked for staff: \(why): \(error)") != nil ? .parked : .skipped
        }
        var delay = settings.backoff(attempt: f.attempts, random: Double.random(in: 0...1))
        // The server's own Retry-After (429, 503; at most a day) wins over a shorter backoff.
        if let asked = error.retryAfter { delay = max(delay, asked) }
        if posted, error.kind != .serverFailure(status: 429) { delay = max(delay, settings.unknownOutcomeDelay ?? settings.endpoint.timeout) }
        f.nextAttemptAt = now().timeIntervalSince1970 + delay
        logger.notice("filing \(f.id) (cluster \(f.clusterID)): \(what) (\(error.message)); retry in \(String(format: "%.1f", delay)) s")
        return save(f, "\(what): \(error); retry \(f.attempts + 1) in \(String(format: "%.1f", delay)) s") != nil ? .waiting : .skipped
    }

    /// Our own request for the entry (carrying its reference, in any status), else the nearest
    /// open request of the service near its spot.
    ///
    /// Both searches give start and end dates at most 90 days apart: the spec lets servers refuse
    /// a longer span, and what a server does with a start date alone is its own choice. Ours
    /// is looked for only since the entry was made, so the answer stays short in a busy city;
    /// an answer that may have been cut to the server's page is searched again in halves.
    func findExisting(_ f: FilingRecord) async throws(GeoReportError) -> (request: ServiceRequest, ours: Bool, metres: Double)? {
        if let r = try await findOwn(f) { return (r, true, 0) }
        let end = Self.searchEnd(now()), span = min(settings.lookbackDays, 90) * 86_400
        var best: (ServiceRequest, Bool, Double)?
        try await search(serviceCode: f.serviceCode, status: ["open"], from: end.addingTimeInterval(-span), to: end) { open in
            // Checked here too: a server that ignores the status filter must not get a pothole
            // linked to a request that was closed.
            for r in open where r.status.lowercased() == "open" {
                guard let lat = r.lat, let lon = r.long else { continue }
                let d = LocalGeodesy.distance((f.lat, f.lon), (lat, lon))
                if d <= settings.nearbyRadius, d < (best?.2 ?? .infinity) { best = (r, false, d) }
            }
            return false
        }
        return best
    }

    /// Shortest window a search splits an answer that looks cut short into.
    static let shortestWindow = 3_600.0
    /// Most windows one search asks for: beyond, what the server holds in a day is more than
    /// it shows, and the search says so in the log rather than asking thousands of times.
    static let mostWindows = 64

    /// Hands `visit` the requests of the service made from `start` to `end`, window by window
    /// (at most 90 days each, the span servers may enforce). An answer of `fullAnswer` or more
    /// may be the server's page, not all there is, so its window is searched again in halves
    /// down to an hour. Stops when `visit` returns true; returns whether it did.
    @discardableResult
    func search(serviceCode: String, status: [String] = [], from start: Date, to end: Date,
                _ visit: ([ServiceRequest]) -> Bool) async throws(GeoReportError) -> Bool {
        var windows: [(Date, Date)] = []
        var from = start
        while from < end {
            let to = min(from.addingTimeInterval(90 * 86_400), end)
            windows.append((from, to))
            from = to
        }
        // Newest window last: taken first, since recent requests are the likelier match.
        var asked = 0
        while let (a, b) = windows.popLast() {
            let found = try await client.requests(serviceCode: serviceCode, status: status, start: a, end: b)
            asked += 1
            if visit(found) { return true }
            guard found.count >= settings.fullAnswer, b.timeIntervalSince(a) > Self.shortestWindow * 2 else { continue }
            // A server that answers with requests outside the dates asked ignores them: halves
            // would bring the same answer again.
            let slack = 86_400.0
            if found.contains(where: { r in r.requestedDatetime.map { $0 < a.addingTimeInterval(-slack) || $0 > b.addingTimeInterval(slack) } ?? false }) {
                logger.notice("the endpoint ignores start_date/end_date: a search of \(serviceCode) requests sees only the \(found.count) it answers with")
                continue
            }
            if asked + windows.count + 2 > Self.mostWindows {
                logger.notice("a search of \(serviceCode) requests stops after \(Self.mostWindows) windows; answers were still full")
                continue
            }
            let middle = a.addingTimeInterval(b.timeIntervalSince(a) / 2)
            windows.append((a, middle))
            windows.append((middle, b))
        }
        return false
    }

    /// The end date of a search: a day ahead, as the server's clock may be ahead of ours and
    /// dates are sent to the second (a request made this second must not fall outside).
    static func searchEnd(_ now: Date) -> Date { now.addingTimeInterval(86_400) }

    /// Our request for the entry (carrying its reference), in any status, made since the entry.
    func findOwn(_ f: FilingRecord) async throws(GeoReportError) -> ServiceRequest? {
        let end = Self.searchEnd(now())
        // From a day before the entry was made (the server's clock may run behind ours), in
        // windows of at most 90 days: one for any entry younger than that, more for one that
        // sat parked for months.
        let start = min(Date(timeIntervalSince1970: f.createdAt - 86_400), end.addingTimeInterval(-2 * 86_400))
        var ours: ServiceRequest?
        try await search(serviceCode: f.serviceCode, from: start, to: end) { found in
            ours = found.first { $0.description?.contains(f.reference) == true }
            return ours != nil
        }
        return ours
    }

    func newRequest(for f: FilingRecord) -> NewRequest {
        var new = NewRequest(serviceCode: f.serviceCode, lat: (f.lat * 1e7).rounded() / 1e7, long: (f.lon * 1e7).rounded() / 1e7,
                             description: f.description, attributes: answers.values(severity: f.severity), deviceID: "streetbump")
        new.listAttributes = answers.lists(severity: f.severity)
        return new
    }

    /// Saves and logs; nil (and a log line) when another filer changed the entry first.
    @discardableResult
    func save(_ f: FilingRecord, _ note: String) -> FilingRecord? {
        do {
            guard let saved = try store.saveFiling(f, note: note, at: now()) else {
                logger.notice("filing \(f.id) changed under us (another filer?); leaving it")
                return nil
            }
            return saved
        } catch {
            logger.error("cannot save filing \(f.id): \(error)")
            return nil
        }
    }

    // MARK: Following up

    /// Polls the endpoint for every live request: resolves tokens, records status, and closes
    /// entries whose request the city closed. Returns how many closed.
    @discardableResult
    public func syncStatus() async -> Int {
        // A parked entry whose POST may have landed (its answer lost, or an endpoint that shows a
        // request only once it has an id): adopt our request once the server shows it.
        for var f in (try? store.filings(in: [.parked])) ?? [] where f.attempts > 0 {
            guard let r = try? await findOwn(f) else { continue }
            f.state = .filed
            f.serviceRequestID = r.serviceRequestID
            f.requestStatus = r.status
            f.filedAt = now().timeIntervalSince1970
            f.lastError = nil
            save(f, "found our request \(r.serviceRequestID) on the server; no longer parked")
        }
        guard let live = try? store.filings(in: [.filed, .linked]) else { return 0 }
        var closed = 0
        var pending: [FilingRecord] = []
        for var f in live {
            if f.serviceRequestID == nil, let token = f.token {
                do {
                    if let id = try await client.token(token) {
                        f.serviceRequestID = id
                        if let saved = save(f, "token \(token) resolved to request \(id)") { f = saved }
                    }
                } catch {
                    logger.notice("cannot resolve token for filing \(f.id): \(error.message)")
                }
            }
            if f.serviceRequestID != nil { pending.append(f) }
        }
        for chunk in stride(from: 0, to: pending.count, by: 25).map({ Array(pending[$0..<min($0 + 25, pending.count)]) }) {
            let found: [ServiceRequest]
            do {
                found = try await client.requests(ids: chunk.compactMap(\.serviceRequestID))
            } catch {
                logger.notice("status sync failed: \(error.message)")
                continue
            }
            let byID = Dictionary(found.map { ($0.serviceRequestID, $0) }, uniquingKeysWith: { a, _ in a })
            for var f in chunk {
                guard let r = byID[f.serviceRequestID ?? ""] else { continue }
                let status = r.status.lowercased()
                guard status != f.requestStatus || r.statusNotes != f.statusNotes else { continue }
                f.requestStatus = status
                f.statusNotes = r.statusNotes
                var note = "request \(r.serviceRequestID) is \(status)" + (r.statusNotes.map { ": \($0)" } ?? "")
                if status == "closed" {
                    f.state = .closed
                    f.closedAt = (r.updatedDatetime ?? now()).timeIntervalSince1970
                    note += " (fixed)"
                    closed += 1
                }
                save(f, note)
            }
        }
        return closed
    }

    static func nearestAsset(_ known: [KnownFeature], to c: ClusterRecord) -> (kind: String, ref: String, metres: Double)? {
        var best: (String, String, Double)?
        for f in known {
            guard let ref = f.ref, !ref.isEmpty else { continue }
            let d = LocalGeodesy.distance((c.lat, c.lon), (f.lat, f.lon))
            if d <= 50, d < (best?.2 ?? .infinity) { best = (f.kind.rawValue.replacingOccurrences(of: "_", with: " "), ref, d) }
        }
        return best
    }
}

/// Spaces POSTs at least `interval` seconds apart.
actor Pacer {
    let interval: Double
    private var next = ContinuousClock.now

    init(interval: Double) { self.interval = interval }

    func wait() async {
        let slot = max(next, ContinuousClock.now)
        next = slot.advanced(by: .seconds(interval))
        try? await Task.sleep(until: slot)
    }
}
