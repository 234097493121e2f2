import RealModule

/// A square of road a trip drove through, and which way it was going.
public struct CoverageCell: Hashable, Sendable {
    /// Packed cell index (see `Coverage.cellKey`).
    public var cell: Int64
    /// Direction bin (`DirectionBin`).
    public var direction: Int

    public init(cell: Int64, direction: Int) {
        self.cell = cell
        self.direction = direction
    }
}

/// Where trips went, on a grid of small cells in projected metres: what turns "3 hits" into
/// "3 hits out of 4 trips that passed", and shows staff where nobody drove.
public enum Coverage {
    /// Cell edge, metres.
    public static let cellSize = 5.0

    public static func cellKey(x: Double, y: Double) -> Int64 {
        let cx = Int64((x / cellSize).rounded(.down)), cy = Int64((y / cellSize).rounded(.down))
        return (cx << 32) ^ (cy & 0xFFFF_FFFF)
    }

    /// The cell's centre in metres.
    public static func centre(of key: Int64) -> (x: Double, y: Double) {
        let cx = key >> 32, cy = Int64(Int32(truncatingIfNeeded: key))
        return ((Double(cx) + 0.5) * cellSize, (Double(cy) + 0.5) * cellSize)
    }

    /// Cells whose centre lies within `radius` metres of a point (at least its own cell).
    public static func cells(aroundX x: Double, y: Double, radius: Double) -> [Int64] {
        let reach = Int64((radius / cellSize).rounded(.up))
        let own = cellKey(x: x, y: y)
        let cx = own >> 32, cy = Int64(Int32(truncatingIfNeeded: own))
        var out: [Int64] = []
        for dx in -reach...reach {
            for dy in -reach...reach {
                let k = ((cx + dx) << 32) ^ ((cy + dy) & 0xFFFF_FFFF)
                let c = centre(of: k)
                if (c.x - x) * (c.x - x) + (c.y - y) * (c.y - y) <= radius * radius || k == own { out.append(k) }
            }
        }
        return out
    }

    /// The cells a track passed, walking each segment between consecutive positions in steps of
    /// half a cell. Segments across a gap longer than `maxGap` ms, or implausibly fast, are not
    /// filled in: where the trip went then is unknown.
    public static func cells(track: [(x: Double, y: Double, t: Double)], maxGap: Double = 15_000) -> Set<CoverageCell> {
        var out = Set<CoverageCell>()
        guard track.count >= 2 else { return out }
        for i in 1..<track.count {
            let a = track[i - 1], b = track[i]
            let dx = b.x - a.x, dy = b.y - a.y
            let length = (dx * dx + dy * dy).squareRoot()
            let dt = b.t - a.t
            guard dt > 0, dt <= maxGap, length >= 0.5, length / (dt / 1000) < 60 else { continue }
            // Heading clockwise from north, from the segment itself.
            var heading = atan2Degrees(dx, dy)
            if heading < 0 { heading += 360 }
            guard let direction = DirectionBin.of(heading: heading) else { continue }
            let steps = Int((length / (cellSize / 2)).rounded(.up))
            for s in 0...steps {
                let f = Double(s) / Double(steps)
                out.insert(CoverageCell(cell: cellKey(x: a.x + dx * f, y: a.y + dy * f), direction: direction))
            }
        }
        return out
    }
}

@inline(__always) func atan2Degrees(_ east: Double, _ north: Double) -> Double {
    Double.atan2(y: east, x: north) * 180 / Double.pi
}
