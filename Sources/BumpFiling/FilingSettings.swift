import Foundation
import Open311

/// How filing behaves: which clusters qualify, where requests go, and how hard to try.
public struct FilingSettings: Sendable {
    public var endpoint: GeoReportEndpoint
    /// How the endpoint is named in the outbox (its URL unless set).
    public var endpointName: String
    /// The service requests are filed under; checked against `GET /services` at start-up.
    public var serviceCode: String
    /// Attribute answers from the configuration, by attribute code (override what is derived).
    public var attributes: [String: String] = [:]
    /// A pothole cluster is filed automatically at or above this class confidence.
    public var minConfidence = 0.6
    /// Metres within which an open request of the same service counts as the same pothole.
    public var nearbyRadius = 25.0
    /// How far back the nearby check looks for others' open requests, in days (at most 90, the
    /// span the spec lets servers enforce).
    public var lookbackDays = 90.0
    /// An answer to a search holding at least this many requests may have been cut to the
    /// server's page size (the spec has no paging; servers cap answers, often at 50): the
    /// window is searched again in halves, so no request in it goes unseen.
    public var fullAnswer = 50
    /// POST attempts with an unknown or temporary outcome before the filing waits for staff.
    public var maxAttempts = 8
    /// Backoff: the first retry waits about `backoffBase` seconds, doubling up to `backoffCap`, with jitter.
    public var backoffBase = 2.0
    public var backoffCap = 600.0
    /// After a POST whose outcome is unknown, seconds to wait before looking for it and trying
    /// again (a slow server may still store it); nil means the endpoint's timeout.
    public var unknownOutcomeDelay: Double?
    /// At most this many requests posted per minute (protects the city's endpoint).
    public var postsPerMinute = 30.0
    /// After a request is closed, hits in the following grace period are ignored (crews leave
    /// patches that settle); later hits from `reopenMinTrips` trips start a new generation.
    public var reopenGraceDays = 14.0
    public var reopenMinTrips = 2
    /// Link to the review page for one cluster: `{id}` is replaced by the cluster id.
    public var reviewURL: String?

    public init(endpoint: GeoReportEndpoint, serviceCode: String) {
        self.endpoint = endpoint
        self.endpointName = endpoint.baseURL.absoluteString
        self.serviceCode = serviceCode
    }

    /// The exponential backoff before retry number `attempt` (1-based), with full jitter in its
    /// upper half so many filers do not retry in step.
    public func backoff(attempt: Int, random: Double) -> Double {
        let exp = backoffBase * pow(2, Double(max(attempt - 1, 0)))
        let capped = min(exp, backoffCap)
        return capped * (0.5 + 0.5 * min(max(random, 0), 1))
    }
}
