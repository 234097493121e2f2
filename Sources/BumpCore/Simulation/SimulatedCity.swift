/// A road feature placed in the simulated city: the ground truth detection is measured against.
public struct RoadFeature: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case pothole
        case casting
        case speedHump = "speed_hump"
        case railCrossing = "rail_crossing"
    }

    public var id: Int
    public var kind: Kind
    /// Street index and position along it (metres from its start).
    public var street: Int
    public var along: Double
    /// Metres right of the centre line, looking along the street's direction. Ignored for
    /// full-width features.
    public var offset: Double
    /// Across-road width and along-road length, metres.
    public var width: Double
    public var length: Double
    /// Depth (negative) or height (positive), metres.
    public var height: Double
    /// 1 (minor) ... 5 (severe), as a crew would grade it.
    public var severity: Int
    public var lat: Double
    public var lon: Double

    /// Full-width features are met by both wheels whatever the lane position.
    public var fullWidth: Bool { kind == .speedHump || kind == .railCrossing }
}

/// A straight two-way street of the grid, from `start` to `end` in city metres (east, north).
public struct Street: Sendable, Equatable {
    public var start: (x: Double, y: Double)
    public var end: (x: Double, y: Double)
    public var length: Double { ((end.x - start.x) * (end.x - start.x) + (end.y - start.y) * (end.y - start.y)).squareRoot() }

    public static func == (a: Street, b: Street) -> Bool {
        a.start == b.start && a.end == b.end
    }
}

/// Parameters of the synthetic city.
public struct CityConfig: Sendable {
    /// South-west corner of the grid (default: Boston's South End).
    public var origin = (lat: 42.3400, lon: -71.0780)
    public var blocksEast = 6
    public var blocksNorth = 6
    /// Block edge, metres.
    public var blockSize = 140.0
    public var potholes = 30
    public var castings = 45
    public var speedHumps = 6
    public var railCrossings = 3
    public init() {}
}

/// A street grid with its road features: deterministic for a seed.
public struct SimulatedCity: Sendable {
    public let config: CityConfig
    public let streets: [Street]
    public let features: [RoadFeature]
    /// Features per street, sorted by position along it.
    let featuresByStreet: [[Int]]
    /// Lane centre, metres right of the centre line.
    public static let laneOffset = 1.75
    /// Half the distance between left and right wheels.
    public static let halfTrack = 0.8

    public init(config: CityConfig = CityConfig(), seed: UInt64) {
        self.config = config
        var streets: [Street] = []
        let b = config.blockSize
        // Streets run between neighbouring intersections so every feature sits on one block.
        for j in 0...config.blocksNorth {
            for i in 0..<config.blocksEast {
                streets.append(Street(start: (Double(i) * b, Double(j) * b), end: (Double(i + 1) * b, Double(j) * b)))
            }
        }
        for i in 0...config.blocksEast {
            for j in 0..<config.blocksNorth {
                streets.append(Street(start: (Double(i) * b, Double(j) * b), end: (Double(i) * b, Double(j + 1) * b)))
            }
        }
        self.streets = streets

        var rng = SimRandom.derived(seed: seed, stream: 0xC17)
        var features: [RoadFeature] = []
        var byStreet = [[Int]](repeating: [], count: streets.count)
        func place(_ kind: RoadFeature.Kind) {
            // Keep features apart (12 m) and off intersections, so each crossing is one event.
            for _ in 0..<200 {
                let street = rng.index(streets.count)
                let along = rng.uniform(18, b - 18)
                if byStreet[street].contains(where: { abs(features[$0].along - along) < 12 }) { continue }
                var f = RoadFeature(
                    id: features.count + 1, kind: kind, street: street, along: along, offset: 0,
                    width: 0, length: 0, height: 0, severity: 1, lat: 0, lon: 0)
                let side: Double = rng.chance(0.5) ? 1 : -1
                switch kind {
                case .pothole:
                    // Most potholes form in the wheel paths; some sit where no wheel goes.
                    let inTrack = rng.chance(0.85)
                    let wheel: Double = rng.chance(0.5) ? 1 : -1
                    let lateral = inTrack ? SimulatedCity.halfTrack * wheel + rng.gaussian(0, 0.1) : rng.uniform(-0.2, 0.2)
                    f.offset = side * (SimulatedCity.laneOffset + lateral)
                    f.width = rng.uniform(0.35, 0.8)
                    f.length = rng.uniform(0.35, 0.9)
                    f.height = -rng.uniform(0.035, 0.11)
                    f.severity = min(5, max(1, Int(((-f.height) - 0.02) / 0.018) + 1))
                case .casting:
                    // Manhole and utility covers: often mid-lane, often in a wheel path, slightly sunk.
                    let lateral = rng.chance(0.6) ? SimulatedCity.halfTrack * (rng.chance(0.5) ? 1 : -1) : rng.uniform(-0.3, 0.3)
                    f.offset = side * (SimulatedCity.laneOffset + lateral + rng.gaussian(0, 0.15))
                    f.width = 0.65
                    f.length = 0.65
                    f.height = rng.chance(0.8) ? -rng.uniform(0.012, 0.028) : rng.uniform(0.008, 0.015)
                    f.severity = 1
                case .speedHump:
                    f.width = 8
                    f.length = 3.7
                    f.height = rng.uniform(0.07, 0.09)
                    f.severity = 1
                case .railCrossing:
                    f.width = 8
                    f.length = 1.435 + 0.15
                    f.height = 0.02
                    f.severity = 1
                }
                let s = streets[street]
                let ux = (s.end.x - s.start.x) / s.length, uy = (s.end.y - s.start.y) / s.length
                // Right of the direction of travel is (uy, -ux).
                let x = s.start.x + ux * along + uy * f.offset
                let y = s.start.y + uy * along - ux * f.offset
                let p = LocalGeodesy.point(from: config.origin, east: x, north: y)
                f.lat = p.lat
                f.lon = p.lon
                byStreet[street].append(features.count)
                features.append(f)
                return
            }
        }
        for _ in 0..<config.potholes { place(.pothole) }
        for _ in 0..<config.castings { place(.casting) }
        for _ in 0..<config.speedHumps { place(.speedHump) }
        for _ in 0..<config.railCrossings { place(.railCrossing) }
        for k in byStreet.indices { byStreet[k].sort { features[$0].along < features[$1].along } }
        self.features = features
        self.featuresByStreet = byStreet
    }

    /// Intersection (i, j) in city metres.
    func node(_ i: Int, _ j: Int) -> (x: Double, y: Double) {
        (Double(i) * config.blockSize, Double(j) * config.blockSize)
    }

    /// The street joining two neighbouring intersections and whether it is travelled backwards.
    func street(from a: (Int, Int), to b: (Int, Int)) -> (index: Int, reversed: Bool) {
        let eastCount = (config.blocksNorth + 1) * config.blocksEast
        if a.1 == b.1 {
            let i = min(a.0, b.0)
            return (a.1 * config.blocksEast + i, b.0 < a.0)
        }
        let j = min(a.1, b.1)
        return (eastCount + a.0 * config.blocksNorth + j, b.1 < a.1)
    }
}
