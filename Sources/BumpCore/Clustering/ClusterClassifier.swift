import RealModule

/// What a cluster is believed to be.
public enum ClusterClass: String, Sendable, CaseIterable, Codable {
    case pothole
    case casting
    case speedHump = "speed_hump"
    case railCrossing = "rail_crossing"
    case noise
}

/// The evidence of one event, as the cluster classifier needs it.
public struct EventEvidence: Sendable, Equatable {
    public var trip: Int64
    public var device: String?
    public var t: Double
    /// Degrees from north; NaN when unknown.
    public var heading: Double
    public var speed: Double
    public var peak: Double
    public var lateralRatio: Double
    public var signature: BumpSignature
    public var kind: BumpKind
    public var confidence: Double
    /// Accelerometer rate of the trip, Hz: peaks from slow phones are unreliable (a 5 Hz phone
    /// samples a 50 ms strike somewhere along its slope, if at all).
    public var rate: Double
    /// Metres from dip to strike (`BumpEvent.dipToStrike`); NaN when not measured.
    public var dipToStrike: Double

    public init(trip: Int64, device: String?, t: Double, heading: Double, speed: Double, peak: Double,
                lateralRatio: Double, signature: BumpSignature, kind: BumpKind, confidence: Double, rate: Double = 100,
                dipToStrike: Double = .nan) {
        self.trip = trip
        self.device = device
        self.t = t
        self.heading = heading
        self.speed = speed
        self.peak = peak
        self.lateralRatio = lateralRatio
        self.signature = signature
        self.kind = kind
        self.confidence = confidence
        self.rate = rate
        self.dipToStrike = dipToStrike
    }

    /// Peak for the speed: how hard the strike was, comparable across speeds.
    public var strength: Double { peak / (0.8 + 0.12 * max(speed.isNaN ? 8 : speed, 1)) }
}

/// Eight 45° travel-direction bins (0 = north-bound, 2 = east-bound ...).
public enum DirectionBin {
    public static func of(heading: Double) -> Int? {
        guard heading.isFinite else { return nil }
        let h = heading.truncatingRemainder(dividingBy: 360)
        return Int(((h < 0 ? h + 360 : h) + 22.5) / 45) % 8
    }

    /// True when two bins are the same way along a road (within 45°).
    public static func alike(_ a: Int, _ b: Int) -> Bool {
        let d = abs(a - b) % 8
        return d <= 1 || d == 7
    }
}

/// Statistics of one cluster: the numbers staff see and the classifier decides on.
public struct ClusterSummary: Sendable, Equatable {
    public var events = 0
    public var trips = 0
    public var devices = 0
    /// Distinct trips that passed the spot in the direction most of its hits came from.
    public var passes = 0
    /// Distinct trips that hit it in that direction.
    public var hits = 0
    public var hitRatio = 0.0
    /// Trips passing the other way, and how many of them hit.
    public var oppositePasses = 0
    public var oppositeHits = 0
    /// Direction bins events came from.
    public var directions: [Int] = []
    /// 1 (minor) ... 5 (severe), from `strength`.
    public var severity = 1
    /// Upper-quartile speed-normalised jolt of the reliable (≥ 20 Hz) events, or of all events
    /// when no trip sampled that fast: what tells a deep hole from a sunken cover.
    public var strength = 0.0
    public var medianPeak = 0.0
    public var medianLateralRatio = 0.0
    /// Share of events that dipped first (a wheel dropping into a hole).
    public var dipShare = 0.0
    /// Median metres from dip to strike over the events that timed it (0.2 m or more, at a
    /// known speed), each brought to `referenceSpeed` (NaN when none did): how long the
    /// depression is along the road, as the wheel felt it.
    public var dipToStrike = Double.nan
    /// How many events timed it.
    public var timedHits = 0
    /// Confidence-weighted share of the events' own guesses, by kind.
    public var votes: [BumpKind: Double] = [:]
    public var firstSeen = 0.0
    public var lastSeen = 0.0
    public init() {}

    /// Summarises a cluster's events given, per direction bin, which trips passed the spot.
    public static func of(events: [EventEvidence], passingTrips: [Int: Set<Int64>]) -> ClusterSummary {
        var s = ClusterSummary()
        s.events = events.count
        guard !events.isEmpty else { return s }
        s.trips = Set(events.map(\.trip)).count
        s.devices = Set(events.compactMap(\.device)).count
        s.firstSeen = events.map(\.t).min()!
        s.lastSeen = events.map(\.t).max()!
        // The main direction: the bin with most distinct hitting trips.
        var tripsByBin: [Int: Set<Int64>] = [:]
        for e in events {
            if let b = DirectionBin.of(heading: e.heading) { tripsByBin[b, default: []].insert(e.trip) }
        }
        s.directions = tripsByBin.keys.sorted()
        let main = tripsByBin.max { a, b in a.value.count != b.value.count ? a.value.count < b.value.count : a.key > b.key }?.key
        func trips(_ source: [Int: Set<Int64>], alike bin: Int) -> Set<Int64> {
            source.filter { DirectionBin.alike($0.key, bin) }.reduce(into: Set<Int64>()) { $0.formUnion($1.value) }
        }
        if let main {
            let hitters = trips(tripsByBin, alike: main)
            // A trip that hit the spot passed it, whatever its track says.
            let passers = trips(passingTrips, alike: main).union(hitters)
            s.hits = hitters.count
            s.passes = passers.count
            let opposite = (main + 4) % 8
            let oppositeHitters = trips(tripsByBin, alike: opposite)
            s.oppositeHits = oppositeHitters.count
            s.oppositePasses = trips(passingTrips, alike: opposite).union(oppositeHitters).count
        } else {
            // No heading at all: count every passing trip.
            let hitters = Set(events.map(\.trip))
            s.hits = hitters.count
            s.passes = passingTrips.values.reduce(into: hitters) { $0.formUnion($1) }.count
        }
        s.hitRatio = Double(s.hits) / Double(max(s.passes, 1))
        s.medianPeak = median(events.map(\.peak))
        s.medianLateralRatio = median(events.map(\.lateralRatio))
        s.dipShare = Double(events.filter { $0.signature == .dipFirst }.count) / Double(events.count)
        let reliable = events.filter { $0.rate >= 20 }
        s.strength = quantile((reliable.isEmpty ? events : reliable).map(\.strength), 0.75)
        // A strike closer than a tyre's contact patch (about 0.2 m, as measured) after the dip
        // was no drop into anything: those extremes were road noise, not a measure of the hole.
        let timed = events.filter { $0.dipToStrike >= 0.2 && $0.speed.isFinite }
            .map { $0.dipToStrike - gapPerSpeed * ($0.speed - referenceSpeed) }
        s.timedHits = timed.count
        s.dipToStrike = median(timed)
        s.severity = s.strength < 1.8 ? 1 : s.strength < 2.6 ? 2 : s.strength < 3.6 ? 3 : s.strength < 5 ? 4 : 5
        var votes: [BumpKind: Double] = [:]
        for e in events { votes[e.kind, default: 0] += max(e.confidence, 0.05) * (e.rate >= 20 ? 1 : 0.3) }
        let total = votes.values.reduce(0, +)
        s.votes = votes.mapValues { $0 / total }
        return s
    }

    /// The speed, m/s, every dip-to-strike timing is brought to (town driving).
    public static let referenceSpeed = 11.0
    /// Metres the measured dip-to-strike grows per m/s: the strike lags the far edge by a
    /// roughly fixed time (the tyre's and the jolt filter's delay), so a faster wheel has gone
    /// further. On simulated crossings timed at 50-200 Hz the medians were 0.49 m at 8 m/s and
    /// 0.58 m at 14.5 m/s over castings, 0.32 m and 0.43 m over holes of 0.35-0.45 m.
    static let gapPerSpeed = 0.015

    static func median(_ xs: [Double]) -> Double { quantile(xs, 0.5) }

    /// Linear-interpolated quantile of the finite values; NaN when there are none.
    static func quantile(_ xs: [Double], _ q: Double) -> Double {
        let v = xs.filter { $0.isFinite }.sorted()
        guard !v.isEmpty else { return .nan }
        let pos = q * Double(v.count - 1), lo = Int(pos.rounded(.down)), hi = min(lo + 1, v.count - 1)
        return v[lo] + (v[hi] - v[lo]) * (pos - Double(lo))
    }
}

/// Tunables of the cluster decision. The defaults need no tuning as traffic grows: they judge
/// the share of passing trips that hit a spot, never a fixed count of hits.
public struct ClusterRules: Sendable, Equatable {
    /// A real defect in a wheel path is hit by more than this share of the trips that pass it;
    /// GPS scatter and random jolts give far less.
    public var noiseHitRate = 0.2
    /// How sure (posterior probability) we must be that the hit rate exceeds `noiseHitRate`.
    public var minBelief = 0.8
    /// Metres within which a known asset (cover, hump, crossing) claims a cluster.
    public var knownAssetRadius = 10.0
    /// Metres from dip to strike (at `ClusterSummary.referenceSpeed`) below which a depression
    /// is shorter than any access cover (at least 0.6 m across: the wheel rolls about half a
    /// metre on a sunken one before striking).
    public var shortHole = 0.47
    /// The same limit for a spot only one event timed: one timing is noisy, so it must be
    /// clearly short. On simulated crossings 2 % of hits on covers time under 0.38 m, and half
    /// of the hits in holes shorter than 0.5 m do.
    public var loneShortHole = 0.38
    public init() {}
}

/// A cluster's class, how sure we are, and why, in words staff can check.
public struct ClusterVerdict: Sendable, Equatable {
    public var cls: ClusterClass
    public var confidence: Double
    public var reasons: [String]
}

/// Decides what a cluster is from its summary.
public enum ClusterClassifier {
    public static func classify(_ s: ClusterSummary, rules: ClusterRules = ClusterRules(), knownAsset: (kind: ClusterClass, id: Int64)? = nil) -> ClusterVerdict {
        var reasons: [String] = []
        if let asset = knownAsset {
            return ClusterVerdict(cls: asset.kind, confidence: 1, reasons: ["at known \(asset.kind.rawValue.replacingUnderscores) #\(asset.id)"])
        }
        let belief = beliefAbove(rules.noiseHitRate, hits: s.hits, passes: s.passes)
        reasons.append("hit by \(s.hits) of \(s.passes) trips that passed (\(percent(s.hitRatio))); P(hit rate > \(percent(rules.noiseHitRate))) = \(percent(belief))")
        guard s.trips >= 2, belief >= rules.minBelief else {
            reasons.append(s.trips < 2 ? "only one trip: not yet evidence" : "too few of the passing trips hit it")
            return ClusterVerdict(cls: .noise, confidence: 1 - belief, reasons: reasons)
        }
        let oppositeRatio = Double(s.oppositeHits) / Double(max(s.oppositePasses, 1))
        let bothWays = s.oppositePasses >= 2 && oppositeRatio >= 0.5 && s.hitRatio >= 0.5
        if bothWays { reasons.append("hit both ways: \(s.oppositeHits) of \(s.oppositePasses) the other way") }
        let fullWidth = s.medianLateralRatio < 0.35
        reasons.append("median lateral/vertical \(decimal(s.medianLateralRatio)) (\(fullWidth ? "both wheels: full width" : "one wheel"))")
        let v = { (k: BumpKind) in s.votes[k] ?? 0 }
        reasons.append("events say: " + BumpKind.allCases.filter { v($0) > 0.05 }.sorted { v($0) > v($1) }.map { "\($0.rawValue) \(percent(v($0)))" }.joined(separator: ", "))

        // One-sided strikes: a deep hole hits hard for the speed, a sunken cover does not ...
        let strong = EventClassifier.ramp(s.strength, 1.8, 2.4)
        // ... unless the hole is short: the tyre bridges it at speed, so it strikes no harder
        // than a cover. Its length still shows: an access cover is at least 0.6 m across, so a
        // wheel dropping onto one lands and rolls about half a metre before it climbs out,
        // while in a shorter hole it hits the far edge still falling.
        let limit = s.timedHits >= 2 ? rules.shortHole : rules.loneShortHole
        let short = s.dipToStrike.isFinite ? 1 - EventClassifier.ramp(s.dipToStrike, limit - 0.03, limit) : 0
        let hard = max(strong, short * EventClassifier.ramp(s.strength, 1.2, 1.5))
        let oneSided = v(.pothole) + v(.casting) + v(.other) * 0.5
        let humpScore = v(.speedHump) + (bothWays ? 0.2 : 0)
        let railScore = v(.railCrossing) + (bothWays && fullWidth ? 0.15 : 0)
        let potholeScore = oneSided * hard * (bothWays && fullWidth ? 0.3 : 1)
        let castingScore = oneSided * (1 - hard)
        let scores: [(ClusterClass, Double)] = [(.speedHump, humpScore), (.railCrossing, railScore), (.pothole, potholeScore), (.casting, castingScore)]
        let ranked = scores.sorted { $0.1 > $1.1 }
        let margin = ranked[0].1 / max(ranked[0].1 + ranked[1].1, 1e-9)
        reasons.append("strength \(decimal(s.strength)) (pothole above ~2.1), severity \(s.severity) of 5; \(percent(s.dipShare)) of hits dipped first")
        // What the length said, as far as it decided anything.
        let shortNote = if short <= 0.5 {
            ""
        } else if ranked[0].0 == .pothole && hard > strong {
            " (shorter than any access cover: a hole)"
        } else if strong >= 1 {
            " (shorter than any access cover)"
        } else {
            " (shorter than any access cover, but it struck too weakly to count)"
        }
        if s.dipToStrike.isFinite {
            reasons.append("\(decimal(s.dipToStrike)) m from dip to strike at \(Int(ClusterSummary.referenceSpeed)) m/s"
                + (s.timedHits == 1 ? ", one hit timed" : ", \(s.timedHits) hits timed") + shortNote)
        }
        return ClusterVerdict(cls: ranked[0].0, confidence: belief * margin, reasons: reasons)
    }

    /// P(p > p0) for a Beta(hits+1, passes-hits+1) posterior: how sure we are the spot's hit
    /// rate exceeds p0, given how many passing trips hit it.
    public static func beliefAbove(_ p0: Double, hits: Int, passes: Int) -> Double {
        let a = Double(hits + 1), b = Double(max(passes - hits, 0) + 1)
        return 1 - regularizedIncompleteBeta(p0, a, b)
    }

    /// I_x(a, b) by a continued fraction (Numerical Recipes' betacf), accurate to ~1e-10.
    static func regularizedIncompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let lnFront = Double.logGamma(a + b) - Double.logGamma(a) - Double.logGamma(b) + a * Double.log(x) + b * Double.log(1 - x)
        let front = Double.exp(lnFront)
        if x < (a + 1) / (a + b + 2) { return front * betaFraction(x, a, b) / a }
        return 1 - front * betaFraction(1 - x, b, a) / b
    }

    private static func betaFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...300 {
            let m = Double(m)
            var aa = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-12 { break }
        }
        return h
    }

    static func decimal(_ x: Double) -> String { TraceWriter.fixed(x, places: 2) }

    static func percent(_ x: Double) -> String { x.isFinite ? "\(Int((x * 100).rounded()))%" : "?" }
}

extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
