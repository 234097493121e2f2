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

    /// A position of a track: metres, epoch ms, and the speed the phone reported (m/s, NaN
    /// when it did not).
    public typealias TrackPoint = (x: Double, y: Double, t: Double, speed: Double)

    /// Reported speed (m/s) below which a car is taken as standing: the jitter of its fixes
    /// would otherwise pass every cell around it in every direction.
    public static let standing = 1.0

    /// A reported speed that says the car stood (negative and NaN say nothing).
    static func isStanding(_ speed: Double) -> Bool { speed >= 0 && speed < standing }

    /// The cells a track passed, walking each segment between consecutive positions in steps of
    /// half a cell. Segments across a gap longer than `maxGap` ms, or implausibly fast, are not
    /// filled in: where the trip went then is unknown. Nor are segments where the phone said
    /// the car stood: their direction is only GPS jitter.
    public static func cells(track: [TrackPoint], maxGap: Double = 15_000) -> Set<CoverageCell> {
        var out = Set<CoverageCell>()
        guard track.count >= 2 else { return out }
        for i in 1..<track.count {
            let a = track[i - 1], b = track[i]
            let dx = b.x - a.x, dy = b.y - a.y
            let length = (dx * dx + dy * dy).squareRoot()
            let dt = b.t - a.t
            guard dt > 0, dt <= maxGap, length >= 0.5, length / (dt / 1000) < 60 else { continue }
            if isStanding(a.speed) || isStanding(b.speed) { continue }
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

/// One square of the coverage grid: how much driving the data holds there.
public struct CoverageSquare: Sendable, Equatable {
    /// South-west corner in projected metres.
    public var x: Double
    public var y: Double
    /// Edge, metres.
    public var size: Double
    /// Metres driven, summed over trips (each trip's distinct 5 m cells times 5 m: within a
    /// cell-width of the truth on straight roads, a little less on diagonals).
    public var distance: Double
    public var trips: Int
    /// Distinct devices; a trip whose device is unknown counts as a device of its own.
    public var devices: Int

    public init(x: Double, y: Double, size: Double, distance: Double, trips: Int, devices: Int) {
        (self.x, self.y, self.size, self.distance, self.trips, self.devices) = (x, y, size, distance, trips, devices)
    }
}

extension Coverage {
    /// Sums coverage rows (`cell`, `trip`, `device`, each (cell, trip) pair once) into squares of
    /// `size` metres, ordered south to north, west to east.
    public static func grid(_ rows: [(cell: Int64, trip: Int64, device: String?)], size: Double) -> [CoverageSquare] {
        var grid = CoverageGrid(size: size)
        for r in rows { grid.add(cell: r.cell, trip: r.trip, device: r.device) }
        return grid.squares
    }
}

/// Coverage summed into squares as (cell, trip) pairs arrive one at a time, so a store of
/// millions of pairs is read without holding them.
public struct CoverageGrid {
    private struct Tally {
        var cells = 0
        var trips = Set<Int64>()
        var devices = Set<String>()
        var anonymousTrips = Set<Int64>()
    }

    public let size: Double
    private var tallies: [Int64: Tally] = [:]

    public init(size: Double) { self.size = size }

    /// One (cell, trip) pair, given once.
    public mutating func add(cell: Int64, trip: Int64, device: String?) {
        let c = Coverage.centre(of: cell)
        let key = (Int64((c.x / size).rounded(.down)) << 32) ^ (Int64((c.y / size).rounded(.down)) & 0xFFFF_FFFF)
        tallies[key, default: Tally()].cells += 1
        tallies[key]!.trips.insert(trip)
        if let device { tallies[key]!.devices.insert(device) } else { tallies[key]!.anonymousTrips.insert(trip) }
    }

    /// The squares with anything in them, south to north, west to east.
    public var squares: [CoverageSquare] {
        tallies.map { key, t in
            CoverageSquare(x: Double(key >> 32) * size, y: Double(Int32(truncatingIfNeeded: key)) * size, size: size,
                           distance: Double(t.cells) * Coverage.cellSize, trips: t.trips.count, devices: t.devices.count + t.anonymousTrips.count)
        }.sorted { ($0.y, $0.x) < ($1.y, $1.x) }
    }
}
