import RealModule

/// A GPS fix in canonical units.
public struct Fix: Sendable, Equatable {
    /// Milliseconds.
    public var t: Double
    public var lat: Double
    public var lon: Double
    /// m/s; NaN when the source gave none (then derived from positions).
    public var speed: Double
    /// Metres (68 %); NaN when unknown.
    public var accuracy: Double

    public init(t: Double, lat: Double, lon: Double, speed: Double = .nan, accuracy: Double = .nan) {
        self.t = t
        self.lat = lat
        self.lon = lon
        self.speed = speed
        self.accuracy = accuracy
    }
}

/// The recent GPS fixes of one trip, for speed gating and for placing events between fixes.
///
/// Holds a bounded window (fixes older than `keep` are forgotten), so streams run in flat memory.
public struct GPSTrack {
    private var fixes: [Fix] = []
    private var head = 0
    /// Milliseconds of history kept behind the newest fix.
    private let keep: Double
    /// Accuracy assumed when a fix carries none, metres.
    public var defaultAccuracy = 10.0

    public init(keepMilliseconds: Double = 60_000) {
        keep = keepMilliseconds
        fixes.reserveCapacity(128)
    }

    public var newest: Fix? { head < fixes.count ? fixes[fixes.count - 1] : nil }

    /// Adds a fix; out-of-order fixes are placed, duplicates (same time) dropped.
    public mutating func insert(_ f: Fix) {
        var fix = f
        var i = fixes.count
        while i > head && fixes[i - 1].t > fix.t { i -= 1 }
        if i > head && fixes[i - 1].t == fix.t { return }
        if fix.speed.isNaN, i > head {
            // Derive speed from the previous position when the source has none.
            let p = fixes[i - 1]
            let dt = (fix.t - p.t) / 1000
            if dt > 0 {
                fix.speed = LocalGeodesy.distance((p.lat, p.lon), (fix.lat, fix.lon)) / dt
                // The first fix of a source without speed gets the same estimate.
                if fixes[i - 1].speed.isNaN { fixes[i - 1].speed = fix.speed }
            }
        }
        if i == fixes.count { fixes.append(fix) } else { fixes.insert(fix, at: i) }
        // Forget old history.
        let limit = fixes[fixes.count - 1].t - keep
        while head < fixes.count - 2 && fixes[head].t < limit { head += 1 }
        if head > 256 {
            fixes.removeFirst(head)
            head = 0
        }
    }

    /// Index of the last fix at or before `t`, or nil.
    private func indexAtOrBefore(_ t: Double) -> Int? {
        var i = fixes.count - 1
        while i >= head && fixes[i].t > t { i -= 1 }
        return i >= head ? i : nil
    }

    /// Speed at `t` for gating: interpolated between fixes, or the last fix's if it is at most
    /// `maxAge` ms old. Nil when the trip has no recent fix.
    public func speed(at t: Double, maxAge: Double) -> Double? {
        guard let i = indexAtOrBefore(t) else { return nil }
        let a = fixes[i]
        if i + 1 < fixes.count {
            let b = fixes[i + 1]
            guard b.t - a.t <= 2 * maxAge else { return nil }
            let f = (t - a.t) / (b.t - a.t)
            let s = a.speed + (b.speed - a.speed) * f
            return s.isNaN ? nil : s
        }
        guard t - a.t <= maxAge, !a.speed.isNaN else { return nil }
        return a.speed
    }

    /// True when a fix at or after `t` has arrived, so interpolation at `t` is final.
    public func isBracketed(_ t: Double) -> Bool {
        guard let n = newest else { return false }
        return n.t >= t
    }

    /// Position, accuracy, speed and heading at `t`, interpolated between the fixes around it,
    /// or extrapolated along the last heading for at most `maxGap` ms. Nil when no fix is near.
    public func locate(_ t: Double, maxGap: Double) -> (lat: Double, lon: Double, accuracy: Double, speed: Double, heading: Double)? {
        guard head < fixes.count else { return nil }
        let before = indexAtOrBefore(t)
        let after = before.map { $0 + 1 < fixes.count ? $0 + 1 : nil } ?? head
        switch (before, after) {
        case let (b?, a?):
            let p = fixes[b], q = fixes[a]
            let gap = q.t - p.t
            guard gap <= maxGap else {
                // Too long a gap to interpolate: use the nearer end if it is close.
                let nearer = t - p.t < q.t - t ? b : a
                guard abs(t - fixes[nearer].t) <= 2_000 else { return nil }
                return moved(nearer, to: t, margin: 5)
            }
            let f = gap > 0 ? (t - p.t) / gap : 0
            // Accuracy of an interpolated point: the worse end, plus growth with the gap length.
            let acc = max(accuracy(p), accuracy(q)) + max(0, gap / 1000 - 1.5) * 1.0
            let speed = speedOf(p) + (speedOf(q) - speedOf(p)) * f
            return (p.lat + (q.lat - p.lat) * f, p.lon + (q.lon - p.lon) * f, acc, speed, heading(around: b))
        case let (b?, nil):
            let p = fixes[b]
            let age = t - p.t
            guard age <= maxGap else { return nil }
            let hd = heading(around: b)
            let spd = speedOf(p)
            guard !hd.isNaN, !spd.isNaN else { return (p.lat, p.lon, accuracy(p) + spd.nanToZero * age / 1000, spd, hd) }
            let dist = spd * age / 1000
            let rad = hd * Double.pi / 180
            let pos = LocalGeodesy.point(from: (p.lat, p.lon), east: dist * Double.sin(rad), north: dist * Double.cos(rad))
            return (pos.lat, pos.lon, accuracy(p) + 0.3 * dist, spd, hd)
        case let (nil, a?):
            guard fixes[a].t - t <= 2_000 else { return nil }
            return moved(a, to: t, margin: 3)
        default:
            return nil
        }
    }

    /// Fix `i` carried to time `t` (up to 2 s either side) along its heading at its speed, its
    /// accuracy grown by that distance and `margin`: at 25 m/s, 1.5 s from a fix is 37 m from it.
    private func moved(_ i: Int, to t: Double, margin: Double) -> (lat: Double, lon: Double, accuracy: Double, speed: Double, heading: Double) {
        let f = fixes[i], hd = heading(around: i), spd = speedOf(f)
        let dist = spd.nanToZero * (t - f.t) / 1000  // negative before the fix
        guard !hd.isNaN, dist != 0 else { return (f.lat, f.lon, accuracy(f) + margin + abs(dist), spd, hd) }
        let rad = hd * Double.pi / 180
        let pos = LocalGeodesy.point(from: (f.lat, f.lon), east: dist * Double.sin(rad), north: dist * Double.cos(rad))
        return (pos.lat, pos.lon, accuracy(f) + margin + 0.3 * abs(dist), spd, hd)
    }

    /// Heading from fixes spanning at least a few metres around fix `i`, degrees from north.
    private func heading(around i: Int) -> Double {
        var lo = i, hi = min(i + 1, fixes.count - 1)
        for _ in 0..<6 {
            let d = LocalGeodesy.distance((fixes[lo].lat, fixes[lo].lon), (fixes[hi].lat, fixes[hi].lon))
            if d >= 6 { return LocalGeodesy.bearing((fixes[lo].lat, fixes[lo].lon), (fixes[hi].lat, fixes[hi].lon)) }
            if lo > head { lo -= 1 } else if hi + 1 < fixes.count { hi += 1 } else { break }
            if hi + 1 < fixes.count && hi - i < i - lo { hi += 1 }
        }
        return .nan
    }

    private func accuracy(_ f: Fix) -> Double { f.accuracy.isNaN ? defaultAccuracy : f.accuracy }
    private func speedOf(_ f: Fix) -> Double { f.speed }
}

extension Double {
    var nanToZero: Double { isNaN ? 0 : self }
}

