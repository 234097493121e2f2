/// A position in projected metres.
public struct Spot: Sendable, Equatable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }

    func distance2(_ x: Double, _ y: Double) -> Double { (self.x - x) * (self.x - x) + (self.y - y) * (self.y - y) }
}

/// A staff correction of the clustering. It is kept as positions, not cluster ids, so it still
/// applies when later trips shift the clusters a little and re-clustering renumbers them.
public enum ClusterEdit: Sendable, Equatable {
    /// The clusters nearest `a` and `b` are one defect.
    case merge(Spot, Spot)
    /// The cluster between the two seeds is two defects: each event goes to the nearer seed.
    case split(Spot, Spot)
}

extension EventClustering {
    /// Applies staff edits, oldest first, to a clustering of `points`. An edit whose clusters are
    /// gone (no cluster within `radius` of its spots) changes nothing.
    public static func apply(_ edits: [ClusterEdit], to clusters: [PointCluster], points: [ClusterPoint], radius: Double) -> [PointCluster] {
        var clusters = clusters
        let r2 = radius * radius
        func nearest(_ s: Spot) -> Int? {
            let best = clusters.indices.min { s.distance2(clusters[$0].x, clusters[$0].y) < s.distance2(clusters[$1].x, clusters[$1].y) }
            return best.flatMap { s.distance2(clusters[$0].x, clusters[$0].y) <= r2 ? $0 : nil }
        }
        for edit in edits {
            switch edit {
            case let .merge(a, b):
                guard let i = nearest(a), let j = nearest(b), i != j else { continue }
                clusters[i] = centroid(of: clusters[i].members + clusters[j].members, points)
                clusters.remove(at: j)
            case let .split(a, b):
                guard let i = nearest(Spot(x: (a.x + b.x) / 2, y: (a.y + b.y) / 2)) else { continue }
                let toA = clusters[i].members.filter { a.distance2(points[$0].x, points[$0].y) <= b.distance2(points[$0].x, points[$0].y) }
                let toB = clusters[i].members.filter { a.distance2(points[$0].x, points[$0].y) > b.distance2(points[$0].x, points[$0].y) }
                guard !toA.isEmpty, !toB.isEmpty else { continue }
                clusters[i] = centroid(of: toA, points)
                clusters.append(centroid(of: toB, points))
            }
        }
        return clusters
    }

    /// Two seeds that divide a cluster's events (weighted 2-means from its two most distant
    /// events); nil when they cannot be divided (fewer than two distinct positions).
    public static func splitSeeds(_ points: [ClusterPoint]) -> (Spot, Spot)? {
        guard let first = points.first else { return nil }
        let far = { (s: Spot) in points.max { s.distance2($0.x, $0.y) < s.distance2($1.x, $1.y) }! }
        let p = far(Spot(x: first.x, y: first.y))
        let q = far(Spot(x: p.x, y: p.y))
        var a = Spot(x: p.x, y: p.y), b = Spot(x: q.x, y: q.y)
        guard a.distance2(b.x, b.y) > 1e-6 else { return nil }
        for _ in 0..<20 {
            var sa = (x: 0.0, y: 0.0, w: 0.0), sb = (x: 0.0, y: 0.0, w: 0.0)
            for pt in points {
                if a.distance2(pt.x, pt.y) <= b.distance2(pt.x, pt.y) {
                    sa = (sa.x + pt.x * pt.weight, sa.y + pt.y * pt.weight, sa.w + pt.weight)
                } else {
                    sb = (sb.x + pt.x * pt.weight, sb.y + pt.y * pt.weight, sb.w + pt.weight)
                }
            }
            guard sa.w > 0, sb.w > 0 else { break }
            let na = Spot(x: sa.x / sa.w, y: sa.y / sa.w), nb = Spot(x: sb.x / sb.w, y: sb.y / sb.w)
            if na == a && nb == b { break }
            (a, b) = (na, nb)
        }
        return (a, b)
    }

    static func centroid(of members: [Int], _ points: [ClusterPoint]) -> PointCluster {
        var sx = 0.0, sy = 0.0, sw = 0.0
        for m in members {
            sx += points[m].x * points[m].weight
            sy += points[m].y * points[m].weight
            sw += points[m].weight
        }
        return PointCluster(members: members.sorted(), x: sx / sw, y: sy / sw)
    }
}
