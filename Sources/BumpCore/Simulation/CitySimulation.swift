/// Settings of `streetbump simulate`.
public struct SimulationConfig: Sendable {
    public var trips = 12
    /// Seconds per trip.
    public var duration = 900.0
    /// Accelerometer rate for every trip; nil mixes 5 ... 200 Hz as real fleets do.
    public var rate: Double? = nil
    public var seed: UInt64 = 1
    public var city = CityConfig()
    /// Epoch milliseconds of the first trip.
    public var epoch = 1_780_000_000_000.0
    public init() {}
}

/// A deterministic simulated city and its trips: the source of `simulate`, the demo and the
/// ground truth the detection tests measure against.
public struct CitySimulation: Sendable {
    public let config: SimulationConfig
    public let city: SimulatedCity
    public let plans: [TripPlan]

    public init(config: SimulationConfig) {
        self.config = config
        city = SimulatedCity(config: config.city, seed: config.seed)
        var rng = SimRandom.derived(seed: config.seed, stream: 0x71)
        let mixedRates: [Double] = [5, 10, 25, 50, 100, 200]
        let devices = max(1, (config.trips * 2) / 3)
        // Trips overlap in time so that a merged stream interleaves them.
        let window = max(1, Double(config.trips) / 4) * config.duration
        plans = (0..<config.trips).map { i in
            TripPlan(
                index: i,
                name: "trip-\(String(i + 1).leftPadded(to: 4))",
                device: "phone-\(String(rng.index(devices) + 1).leftPadded(to: 3))",
                start: config.epoch + (rng.uniform(0, window) * 1000).rounded(),
                duration: config.duration,
                rate: config.rate ?? mixedRates[rng.index(mixedRates.count)])
        }
    }

    /// A simulator for trip `index`.
    public func trip(_ index: Int) -> TripSimulator {
        TripSimulator(city: city, plan: plans[index], seed: config.seed)
    }

    /// `truth.csv`: `id,kind,lat,lon,severity`.
    public func truthCSV() -> String {
        var s = "id,kind,lat,lon,severity\n"
        for f in city.features {
            var line: [UInt8] = []
            TraceWriter.appendFixed(f.lat, places: 7, to: &line)
            line.append(UInt8(ascii: ","))
            TraceWriter.appendFixed(f.lon, places: 7, to: &line)
            s += "\(f.id),\(f.kind.rawValue),\(String(decoding: line, as: UTF8.self)),\(f.severity)\n"
        }
        return s
    }

    /// `crossings.csv`: which trip met which feature when, and with which wheels.
    public static func crossingsCSV(_ crossings: [FeatureCrossing], plans: [TripPlan]) -> String {
        var s = "trip,feature,t,wheels,speed\n"
        for c in crossings {
            var line: [UInt8] = []
            TraceWriter.appendFixed(c.t, places: 1, to: &line)
            line.append(UInt8(ascii: ","))
            line.append(contentsOf: c.wheels.utf8)
            line.append(UInt8(ascii: ","))
            TraceWriter.appendFixed(c.speed, places: 2, to: &line)
            s += "\(plans[c.trip].name),\(c.feature),\(String(decoding: line, as: UTF8.self))\n"
        }
        return s
    }

    /// `trips.csv`: name, device, start, rate of every trip.
    public func tripsCSV() -> String {
        var s = "trip,device,start,rate,duration\n"
        for p in plans { s += "\(p.name),\(p.device),\(Int64(p.start)),\(p.rate),\(p.duration)\n" }
        return s
    }
}

/// Merges the rows of several trips into one stream in time order, as a telemetry gateway
/// delivers them. Holds one pending row per trip.
public struct InterleavedTrips {
    private var simulators: [TripSimulator]
    private var heads: [TraceRow?]
    public private(set) var crossings: [FeatureCrossing] = []

    public init(_ simulators: [TripSimulator]) {
        self.simulators = simulators
        heads = []
        for i in self.simulators.indices { heads.append(self.simulators[i].next()) }
    }

    /// The next row of any trip and the trip's index, or nil when all trips have ended.
    public mutating func next() -> (row: TraceRow, trip: Int)? {
        // A linear scan: simulations hold tens of trips, and each row costs far more to simulate.
        var best = -1
        var bestT = Double.infinity
        for i in heads.indices {
            if let r = heads[i], r.t < bestT {
                best = i
                bestT = r.t
            }
        }
        guard best >= 0, let row = heads[best] else { return nil }
        heads[best] = simulators[best].next()
        if heads[best] == nil { crossings.append(contentsOf: simulators[best].crossings) }
        return (row, simulators[best].plan.index)
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
