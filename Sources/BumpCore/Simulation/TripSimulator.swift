import RealModule

/// One wheel's meeting with a road feature, for the ground truth of detection tests.
public struct FeatureCrossing: Sendable, Equatable {
    public var trip: Int
    public var feature: Int
    /// Milliseconds when the front axle reached the feature.
    public var t: Double
    /// Which wheels met it: "left", "right" or "both"; empty when the vehicle passed without touching.
    public var wheels: String
    public var speed: Double
    public var hit: Bool { !wheels.isEmpty }
}

/// What one simulated trip looks like before it is driven.
public struct TripPlan: Sendable {
    public var index: Int
    public var name: String
    public var device: String
    /// Epoch milliseconds of the first sample.
    public var start: Double
    public var duration: Double
    /// Accelerometer sample rate, Hz.
    public var rate: Double
}

/// Drives one vehicle through the city and produces its phone's samples in time order.
///
/// Physics: four independent quarter-cars (tyre with loss of contact, suspension spring and
/// damper) under each wheel, a road of roughness plus features, rigid-body heave/pitch/roll at
/// the phone's mount, speed-profile and cornering accelerations, engine vibration, a random
/// phone orientation (re-randomised when the phone is handled at a stop), sensor noise and
/// timing jitter, and 1 Hz GPS with bias, noise, accuracy and dropouts.
public struct TripSimulator {
    public let plan: TripPlan
    public private(set) var crossings: [FeatureCrossing] = []

    // Path: legs of streets in driving order, with the speed profile on a 0.5 m grid.
    private struct Leg {
        var street: Int
        var reversed: Bool
        var s0: Double
        var length: Double
        var origin: (x: Double, y: Double)
        var dir: (x: Double, y: Double)
    }
    private struct Encounter {
        var s: Double
        var feature: Int
        /// Metres right of the direction of travel.
        var offset: Double
        var recorded = false
    }
    private let city: SimulatedCity
    private var legs: [Leg] = []
    private var encounters: [Encounter] = []
    private var ds = 0.5
    private var gridSpeed: [Double] = []
    private var gridTime: [Double] = []
    /// Corner lateral acceleration sign (+ left) and extent by path position.
    private var corners: [(s: Double, sign: Double)] = []
    private var cornerIndex = 0

    private var rng: SimRandom
    private var time = 0.0 // seconds since start
    private let dt: Double
    private var cell = 0
    private var legIndex = 0
    private var encounterIndex = 0
    private var s = 0.0
    private var v = 0.0
    private var accel = 0.0
    private var ended = false

    // Vehicle and phone.
    private var quarterCars = [QuarterCar](repeating: QuarterCar(), count: 4)
    private var roughness = [Double](repeating: 0, count: 4)
    private let roughnessSigma: Double
    private var lanePosition: Double
    private var rotation: Rotation
    private let mount: (forward: Double, left: Double, up: Double)
    private let mountGain: Double
    private let noise: Double
    private var bias: (Double, Double, Double)
    private var handling: (start: Double, end: Double, freq: (Double, Double, Double))?
    private var stopsHandled: Set<Int> = []
    private var dwellUntil = -1.0
    private var dwellCell = -1

    // Output clocks.
    private var nextSample = 0.0
    private var nextFix: Double
    private var gpsGapUntil = -1.0
    private var gpsBias = (0.0, 0.0)
    private var lastVehicle = (acc: (0.0, 0.0, 0.0), x: 0.0, y: 0.0)

    static let wheelbase = 2.7
    static let tyreHalfWidth = 0.1

    public init(city: SimulatedCity, plan: TripPlan, seed: UInt64) {
        self.city = city
        self.plan = plan
        var rng = SimRandom.derived(seed: seed, stream: 0x7000 + UInt64(plan.index))
        dt = plan.rate > 200 ? 0.0005 : 0.001
        roughnessSigma = rng.uniform(0.002, 0.005)
        lanePosition = SimulatedCity.laneOffset + rng.gaussian(0, 0.2)
        rotation = Rotation.random(&rng)
        mount = (rng.uniform(-0.3, 0.6), rng.uniform(-0.4, 0.4), rng.uniform(0.4, 0.8))
        mountGain = rng.uniform(1.1, 1.6)
        noise = rng.uniform(0.02, 0.06)
        bias = (rng.gaussian(0, 0.05), rng.gaussian(0, 0.05), rng.gaussian(0, 0.05))
        gpsBias = (rng.gaussian(0, 2), rng.gaussian(0, 2))
        nextFix = rng.uniform(0, 1)
        self.rng = rng
        planRoute()
    }

    // MARK: Route and speed profile

    private mutating func planRoute() {
        let cfg = city.config
        var node = (rng.index(cfg.blocksEast + 1), rng.index(cfg.blocksNorth + 1))
        var previous: (Int, Int)? = nil
        var total = 0.0
        let cruise = min(15.5, max(7, rng.gaussian(11.5, 2)))
        let needed = plan.duration * cruise + 200
        var limits: [(s: Double, v: Double, dwell: Double)] = []
        while total < needed {
            var options: [(Int, Int)] = []
            for (di, dj) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                let n = (node.0 + di, node.1 + dj)
                if n.0 < 0 || n.1 < 0 || n.0 > cfg.blocksEast || n.1 > cfg.blocksNorth { continue }
                if let p = previous, p == n { continue }
                options.append(n)
            }
            if options.isEmpty, let p = previous { options = [p] }
            // Prefer going straight on, as traffic does.
            var next = options[rng.index(options.count)]
            if let p = previous {
                let straight = (2 * node.0 - p.0, 2 * node.1 - p.1)
                if options.contains(where: { $0 == straight }) && rng.chance(0.55) { next = straight }
            }
            let (street, reversed) = city.street(from: node, to: next)
            let a = city.node(node.0, node.1), b = city.node(next.0, next.1)
            let length = cfg.blockSize
            let dir = ((b.x - a.x) / length, (b.y - a.y) / length)
            if let last = legs.last {
                // Turning or stopping at the intersection between the two legs.
                let cross = last.dir.x * dir.1 - last.dir.y * dir.0
                var limit = cruise
                if abs(cross) > 0.5 {
                    limit = rng.uniform(4, 6)
                    corners.append((total, cross > 0 ? 1 : -1))
                }
                let stop = rng.chance(0.35)
                limits.append((total, stop ? 0 : limit, stop ? rng.uniform(2, 20) : 0))
            }
            legs.append(Leg(street: street, reversed: reversed, s0: total, length: length, origin: a, dir: dir))
            for fi in city.featuresByStreet[street] {
                let f = city.features[fi]
                let along = reversed ? length - f.along : f.along
                encounters.append(Encounter(s: total + along, feature: fi, offset: reversed ? -f.offset : f.offset))
                switch f.kind {
                case .speedHump: limits.append((total + along, rng.uniform(3.5, 6.5), 0))
                case .railCrossing: limits.append((total + along, rng.uniform(6, 9), 0))
                default: break
                }
            }
            total += length
            previous = node
            node = next
        }
        // Speed limit on the grid, then the acceleration and braking envelopes.
        let n = Int(total / ds) + 1
        var vmax = [Double](repeating: cruise, count: n)
        var dwell = [Double](repeating: 0, count: n)
        for l in limits {
            let k = min(n - 1, Int((l.s / ds).rounded()))
            // Slow for humps over their length, not just at their centre.
            let halfSpan = l.v > 0 ? Int(3 / ds) : 0
            for m in max(0, k - halfSpan)...min(n - 1, k + halfSpan) { vmax[m] = min(vmax[m], l.v) }
            dwell[k] = max(dwell[k], l.dwell)
        }
        vmax[0] = 0
        let aUp = rng.uniform(1.2, 2.2), aDown = rng.uniform(1.8, 3.0)
        for k in 1..<n { vmax[k] = min(vmax[k], (vmax[k - 1] * vmax[k - 1] + 2 * aUp * ds).squareRoot()) }
        for k in stride(from: n - 2, through: 0, by: -1) {
            vmax[k] = min(vmax[k], (vmax[k + 1] * vmax[k + 1] + 2 * aDown * ds).squareRoot())
        }
        var times = [Double](repeating: 0, count: n)
        for k in 1..<n {
            let avg = max(0.05, (vmax[k - 1] + vmax[k]) / 2)
            times[k] = times[k - 1] + dwell[k - 1] + ds / avg
        }
        gridSpeed = vmax
        gridTime = times
        encounters.sort { $0.s < $1.s }
    }

    // MARK: Stepping

    /// The next row in time order (accelerometer sample or GPS fix), or nil at the trip's end.
    public mutating func next() -> TraceRow? {
        while !ended {
            if nextSample <= time || nextFix <= time {
                if nextFix <= nextSample {
                    let t = nextFix
                    nextFix += 1 + rng.gaussian(0, 0.01)
                    if let fix = gpsFix(at: t) { return fix }
                    continue
                }
                let t = nextSample
                nextSample += (1 / plan.rate) * max(0.5, 1 + rng.gaussian(0, 0.02))
                if rng.chance(0.001) { continue } // a dropped sample
                return accelerometerSample(at: t)
            }
            step()
        }
        return nil
    }

    private mutating func step() {
        time += dt
        if time >= plan.duration { ended = true }
        // Position along the path from the time grid (dwell at stops included).
        while cell + 1 < gridTime.count && gridTime[cell + 1] <= time { cell += 1 }
        if cell + 1 >= gridTime.count {
            ended = true
            return
        }
        let v0 = gridSpeed[cell], v1 = gridSpeed[cell + 1]
        let cellStart = gridTime[cell], cellTime = gridTime[cell + 1] - cellStart
        let moving = ds / max(0.05, (v0 + v1) / 2)
        let dwell = cellTime - moving
        let previousS = s
        if time - cellStart < dwell {
            s = Double(cell) * ds
            v = 0
            accel = 0
            maybeHandlePhone(stopCell: cell, until: cellStart + dwell)
        } else {
            let f = (time - cellStart - dwell) / moving
            s = (Double(cell) + f) * ds
            v = v0 + (v1 - v0) * f
            accel = (v1 * v1 - v0 * v0) / (2 * ds)
        }
        let moved = s - previousS
        lanePosition += rng.gaussian(0, 0.002) - (lanePosition - SimulatedCity.laneOffset) * 0.0005
        // Each wheel: roadway height under it, then its quarter-car.
        let decay = Double.exp(-max(moved, 0) / 1.5)
        let kick = roughnessSigma * (1 - decay * decay).squareRoot()
        for w in 0..<4 {
            let front = w < 2
            let wheelS = front ? s : s - TripSimulator.wheelbase
            let lateral = lanePosition + (w % 2 == 0 ? -SimulatedCity.halfTrack : SimulatedCity.halfTrack)
            roughness[w] = roughness[w] * decay + kick * rng.gaussian()
            let road = roughness[w] + featureHeight(at: wheelS, lateral: lateral)
            quarterCars[w].step(road: road, dt: dt)
        }
        recordCrossings()
    }

    private mutating func maybeHandlePhone(stopCell: Int, until: Double) {
        guard !stopsHandled.contains(stopCell) else { return }
        stopsHandled.insert(stopCell)
        guard until - time > 6, rng.chance(0.35) else { return }
        let start = time + 1, end = time + rng.uniform(2, 4)
        handling = (start, end, (rng.uniform(0.5, 3), rng.uniform(0.5, 3), rng.uniform(0.5, 3)))
    }

    private func featureHeight(at wheelS: Double, lateral: Double) -> Double {
        var h = 0.0
        var i = encounterIndex
        while i > 0 && encounters[i - 1].s > wheelS - 5 { i -= 1 }
        while i < encounters.count && encounters[i].s < wheelS + 5 {
            let e = encounters[i]
            let f = city.features[e.feature]
            let u = wheelS - e.s
            if abs(u) < f.length / 2 + 0.2,
               f.fullWidth || abs(lateral - e.offset) < f.width / 2 + TripSimulator.tyreHalfWidth {
                h += RoadProfile.height(kind: f.kind, u: u, length: f.length, height: f.height)
            }
            i += 1
        }
        return h
    }

    private mutating func recordCrossings() {
        while encounterIndex < encounters.count && encounters[encounterIndex].s <= s {
            let e = encounters[encounterIndex]
            let f = city.features[e.feature]
            let left = lanePosition - SimulatedCity.halfTrack, right = lanePosition + SimulatedCity.halfTrack
            let reach = f.width / 2 + TripSimulator.tyreHalfWidth
            let l = f.fullWidth || abs(left - e.offset) < reach, r = f.fullWidth || abs(right - e.offset) < reach
            let wheels = l && r ? "both" : l ? "left" : r ? "right" : ""
            crossings.append(FeatureCrossing(trip: plan.index, feature: f.id, t: plan.start + time * 1000, wheels: wheels, speed: v))
            encounterIndex += 1
        }
    }

    // MARK: Sensors

    private mutating func accelerometerSample(at t: Double) -> TraceRow {
        let g = 9.80665
        let fl = quarterCars[0].bodyAcceleration, fr = quarterCars[1].bodyAcceleration
        let rl = quarterCars[2].bodyAcceleration, rr = quarterCars[3].bodyAcceleration
        let heave = (fl + fr + rl + rr) / 4
        let roll = ((fl + rl) - (fr + rr)) / (4 * SimulatedCity.halfTrack) // rad/s², + raises the right side... left side up
        let pitch = ((fl + fr) - (rl + rr)) / (2 * TripSimulator.wheelbase)
        let rollAngle = ((quarterCars[0].bodyHeight + quarterCars[2].bodyHeight) - (quarterCars[1].bodyHeight + quarterCars[3].bodyHeight)) / (4 * SimulatedCity.halfTrack)
        var up = mountGain * (heave + pitch * mount.forward + roll * mount.left)
        var forward = accel - mountGain * pitch * mount.up
        var left = mountGain * (-roll * mount.up) - g * rollAngle
        while cornerIndex < corners.count && corners[cornerIndex].s < s - 7 { cornerIndex += 1 }
        if cornerIndex < corners.count && corners[cornerIndex].s < s + 7 {
            // A 9 m turning radius, eased in and out over the 14 m of the turn.
            let ease = Double.sin(Double.pi * (s - corners[cornerIndex].s + 7) / 14)
            left += corners[cornerIndex].sign * v * v / 9 * ease * ease
        }
        // Engine vibration, stronger with speed.
        let engine = 20 + 1.8 * v
        let vib = (0.04 + 0.01 * v) * Double.sin(2 * Double.pi * engine * time)
        up += vib
        forward += 0.5 * vib
        if let h = handling, time >= h.start {
            if time > h.end {
                handling = nil
                // The phone ends up lying differently after being picked up.
                rotation = Rotation.random(&rng)
            } else {
                forward += 3 * Double.sin(2 * Double.pi * h.freq.0 * time)
                left += 3 * Double.sin(2 * Double.pi * h.freq.1 * time + 1)
                up += 2.5 * Double.sin(2 * Double.pi * h.freq.2 * time + 2)
            }
        }
        // The accelerometer reads the reaction to gravity: +g on the up axis at rest.
        let p = rotation.apply((forward, left, up + g))
        return TraceRow(
            t: plan.start + t * 1000,
            ax: p.0 + bias.0 + rng.gaussian(0, noise),
            ay: p.1 + bias.1 + rng.gaussian(0, noise),
            az: p.2 + bias.2 + rng.gaussian(0, noise))
    }

    private mutating func gpsFix(at t: Double) -> TraceRow? {
        if t < gpsGapUntil { return nil }
        if rng.chance(0.012) {
            gpsGapUntil = t + rng.uniform(3, 12)
            return nil
        }
        // Slowly wandering bias (multipath, atmosphere) plus white noise.
        gpsBias.0 = gpsBias.0 * 0.97 + rng.gaussian(0, 0.45)
        gpsBias.1 = gpsBias.1 * 0.97 + rng.gaussian(0, 0.45)
        let p = position()
        let east = p.x + gpsBias.0 + rng.gaussian(0, 1.2), north = p.y + gpsBias.1 + rng.gaussian(0, 1.2)
        let ll = LocalGeodesy.point(from: city.config.origin, east: east, north: north)
        let speed = max(0, v + rng.gaussian(0, 0.15))
        return TraceRow(
            t: plan.start + t * 1000, lat: ll.lat, lon: ll.lon, speed: speed,
            accuracy: (3.5 + abs(rng.gaussian(0, 2))).rounded(toPlaces: 1))
    }

    /// The phone's true position in city metres.
    private mutating func position() -> (x: Double, y: Double) {
        while legIndex + 1 < legs.count && legs[legIndex + 1].s0 <= s { legIndex += 1 }
        let leg = legs[legIndex]
        let along = s - leg.s0
        // Right of travel is (dir.y, -dir.x).
        return (leg.origin.x + leg.dir.x * along + leg.dir.y * lanePosition,
                leg.origin.y + leg.dir.y * along - leg.dir.x * lanePosition)
    }
}

extension Double {
    func rounded(toPlaces p: Int) -> Double {
        var m = 1.0
        for _ in 0..<p { m *= 10 }
        return (self * m).rounded() / m
    }
}

/// Road surface height relative to the surrounding road, at `u` metres from a feature's centre.
enum RoadProfile {
    static func height(kind: RoadFeature.Kind, u: Double, length: Double, height: Double) -> Double {
        switch kind {
        case .pothole, .casting:
            // A flat-bottomed hole (or raised cover) whose edges the tyre rolls over in ~8 cm.
            let edge = 0.08, d = length / 2 - abs(u)
            if d <= 0 { return 0 }
            return height * min(1, d / edge)
        case .speedHump:
            guard abs(u) < length / 2 else { return 0 }
            let c = Double.cos(Double.pi * u / length)
            return height * c * c
        case .railCrossing:
            // Two rails 1.435 m apart: a raised head next to a flangeway groove each.
            var h = 0.0
            for rail in [-0.7175, 0.7175] {
                let d = u - rail
                if abs(d) < 0.06 { h += height * (1 - abs(d) / 0.06) }
                if d > 0.06 && d < 0.12 { h -= height }
            }
            return h
        }
    }
}

/// A quarter-car: unsprung wheel mass on a tyre spring that can leave the road, sprung body
/// mass on a spring and damper. Semi-implicit Euler at 1-2 kHz is stable for these constants.
struct QuarterCar {
    var bodyHeight = 0.0, bodyVelocity = 0.0, bodyAcceleration = 0.0
    var wheelHeight = 0.0, wheelVelocity = 0.0
    static let bodyMass = 320.0, wheelMass = 40.0
    static let springRate = 22_000.0, damping = 1_600.0, tyreRate = 200_000.0

    mutating func step(road: Double, dt: Double) {
        let g = 9.80665
        let suspension = QuarterCar.springRate * (wheelHeight - bodyHeight)
            + QuarterCar.damping * (wheelVelocity - bodyVelocity)
        // The tyre pushes but cannot pull: the static load is the most it can lose.
        let tyre = max(QuarterCar.tyreRate * (road - wheelHeight), -(QuarterCar.bodyMass + QuarterCar.wheelMass) * g)
        bodyAcceleration = suspension / QuarterCar.bodyMass
        let wheelAcceleration = (tyre - suspension) / QuarterCar.wheelMass
        bodyVelocity += bodyAcceleration * dt
        wheelVelocity += wheelAcceleration * dt
        bodyHeight += bodyVelocity * dt
        wheelHeight += wheelVelocity * dt
    }
}

/// A rotation from the vehicle frame (forward, left, up) to the phone frame.
struct Rotation {
    var m: (Double, Double, Double, Double, Double, Double, Double, Double, Double)

    /// Uniformly random (Shoemake's quaternion method): a phone lies any way at all.
    static func random(_ rng: inout SimRandom) -> Rotation {
        let u1 = rng.unit(), u2 = rng.unit() * 2 * Double.pi, u3 = rng.unit() * 2 * Double.pi
        let a = (1 - u1).squareRoot(), b = u1.squareRoot()
        let w = a * Double.sin(u2), x = a * Double.cos(u2), y = b * Double.sin(u3), z = b * Double.cos(u3)
        return Rotation(m: (
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)))
    }

    func apply(_ v: (Double, Double, Double)) -> (Double, Double, Double) {
        (m.0 * v.0 + m.1 * v.1 + m.2 * v.2, m.3 * v.0 + m.4 * v.1 + m.5 * v.2, m.6 * v.0 + m.7 * v.1 + m.8 * v.2)
    }
}
