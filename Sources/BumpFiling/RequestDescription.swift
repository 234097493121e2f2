import BumpCore
import BumpStore
import Foundation

/// The text a dispatcher reads: what was found, how sure we are and why, and where to look.
/// Plain text (no HTML), under the 4,000 characters many 311 systems accept.
public enum RequestDescription {
    public static let limit = 4_000

    /// - Parameters:
    ///   - nearestAsset: a mapped asset near the spot, to help a crew find it (kind, ref, metres).
    public static func make(cluster c: ClusterRecord, generation: Int, previous: FilingRecord?, reference: String,
                            reviewURL: String?, crs: String?, nearestAsset: (kind: String, ref: String, metres: Double)?) -> String {
        let s = c.summary
        var lines: [String] = []
        lines.append("Pothole detected by streetbump from phones in passing vehicles (cluster \(c.id)\(generation > 1 ? ", generation \(generation)" : "")).")
        lines.append("Hit by \(s.hits) of the \(s.passes) trips that passed it (\(percent(s.hitRatio)))"
                     + (s.devices > 0 ? "; \(s.trips) trips from \(s.devices) devices in all." : "."))
        if s.oppositePasses > 0 { lines.append("Other direction: hit by \(s.oppositeHits) of \(s.oppositePasses) passes.") }
        lines.append("Severity \(s.severity) of 5 (median jolt \(String(format: "%.1f", s.medianPeak)) m/s²). Confidence that it is a pothole: \(percent(c.confidence)).")
        if c.state == "confirmed" { lines.append("Confirmed by public-works staff.") }
        lines.append("First seen \(Timestamp.iso(s.firstSeen)), last seen \(Timestamp.iso(s.lastSeen)).")
        var place = "Location: \(String(format: "%.6f", c.lat)), \(String(format: "%.6f", c.lon)) (WGS84)"
        if let crs { place += "; x \(String(format: "%.1f", c.x)), y \(String(format: "%.1f", c.y)) in \(crs)" }
        lines.append(place + ".")
        if let a = nearestAsset {
            lines.append("Nearest mapped asset: \(a.kind) \(a.ref), \(Int(a.metres.rounded())) m away.")
        }
        if let p = previous {
            let closed = p.closedAt.map { Timestamp.iso($0 * 1_000) } ?? "earlier"
            lines.append("Reported before as request \(p.serviceRequestID ?? "?"), closed \(closed); hit again since.")
        }
        if let reviewURL { lines.append("Evidence: " + reviewURL.replacingOccurrences(of: "{id}", with: String(c.id))) }
        lines.append("Ref: \(reference)")
        return clean(lines.joined(separator: "\n"))
    }

    /// No markup and within the limit: angle brackets become parentheses, the middle is cut
    /// when too long (the reference on the last line is kept: recovery looks for it).
    static func clean(_ text: String) -> String {
        var t = text.replacingOccurrences(of: "<", with: "(").replacingOccurrences(of: ">", with: ")")
        if t.count > limit, let lastBreak = t.lastIndex(of: "\n") {
            let tail = String(t[lastBreak...])
            t = String(t.prefix(limit - tail.count - 1)) + "…" + tail
        }
        return t
    }

    static func percent(_ x: Double) -> String { "\(Int((x * 100).rounded()))%" }
}
