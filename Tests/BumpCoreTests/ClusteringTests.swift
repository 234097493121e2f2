import BumpCore
import Testing

@Suite("Event clustering in projected metres")
struct ClusteringTests {
    /// Scattered hits of spots `spacing` metres apart, GPS-like noise.
    func scatter(spots: [(Double, Double)], perSpot: Int, sigma: Double, seed: UInt64) -> [ClusterPoint] {
        var rng = SimRandom(seed: seed)
        var points: [ClusterPoint] = []
        for (s, spot) in spots.enumerated() {
            for k in 0..<perSpot {
                points.append(ClusterPoint(
                    x: spot.0 + rng.gaussian(0, sigma), y: spot.1 + rng.gaussian(0, sigma),
                    key: UInt64(s * 10_000 + k)))
            }
        }
        return points
    }

    func signature(_ clusters: [PointCluster], _ points: [ClusterPoint]) -> [[UInt64]] {
        clusters.map { $0.members.map { points[$0].key }.sorted() }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    @Test("potholes 14 m apart stay apart; each one's scatter stays together")
    func separation() {
        let spots = (0..<10).map { (Double($0) * 14, 0.0) }
        let points = scatter(spots: spots, perSpot: 20, sigma: 2.5, seed: 1)
        let clusters = EventClustering.cluster(points, radius: 8)
        #expect(clusters.count == 10)
        for c in clusters {
            // Every centroid within 2 m of a true spot.
            #expect(spots.contains { abs($0.0 - c.x) < 2 && abs($0.1 - c.y) < 2 })
        }
    }

    @Test("one spot's scatter is one cluster, not two halves a few metres apart")
    func noHalves() {
        // Twelve hits with 3 m of GPS scatter (σ per axis), forty times over. A far stray may
        // still stand apart, but no two clusters are one spot: within the radius of each other
        // and all their points within the radius of the joint centroid (before, 5 of the 40
        // spots came out so).
        var halves: [Double] = []
        for seed in 0..<40 {
            let points = scatter(spots: [(0, 0)], perSpot: 12, sigma: 3, seed: UInt64(100 + seed))
            if let apart = oneSpotAsTwo(EventClustering.cluster(points, radius: 8), points) { halves.append(apart) }
        }
        #expect(halves.isEmpty, "one spot as two clusters, this far apart: \(halves)")
        // A review's case: nine hits within 6 m of their centroid stood as two clusters 4.2 m
        // apart while six unrelated hits lay about 10 m away.
        let xy = [(0.01, 8.94), (1.74, 11.86), (0.15, 16.28), (-3.23, 10.77), (0.49, 14.14), (1.46, 11.54),
                  (12.09, 4.83), (11.07, 10.13), (10.05, 9.80), (9.18, 4.62), (13.84, 13.25), (7.68, 9.45), (7.32, 8.36), (7.76, 8.23), (6.22, 13.66)]
        let points = xy.enumerated().map { ClusterPoint(x: $0.element.0, y: $0.element.1, weight: 1 / 25, key: UInt64(1_000 + $0.offset)) }
        #expect(oneSpotAsTwo(EventClustering.cluster(points, radius: 8), points) == nil)
    }

    /// How far apart two clusters are that look like one spot (within 8 m of each other, every
    /// point within 8 m of their joint centroid), if any two do.
    func oneSpotAsTwo(_ clusters: [PointCluster], _ points: [ClusterPoint]) -> Double? {
        for a in clusters.indices { for b in clusters.indices where b > a {
            let union = clusters[a].members + clusters[b].members
            let w = union.map { points[$0].weight }.reduce(0, +)
            let cx = union.map { points[$0].x * points[$0].weight }.reduce(0, +) / w, cy = union.map { points[$0].y * points[$0].weight }.reduce(0, +) / w
            let fits = union.allSatisfy { (points[$0].x - cx) * (points[$0].x - cx) + (points[$0].y - cy) * (points[$0].y - cy) <= 64 }
            let apart = ((clusters[a].x - clusters[b].x) * (clusters[a].x - clusters[b].x) + (clusters[a].y - clusters[b].y) * (clusters[a].y - clusters[b].y)).squareRoot()
            if fits && apart <= 8 { return apart }
        } }
        return nil
    }

    @Test("two defects 11-13 m apart stay two clusters; neither takes a share of the other's hits")
    func neighboursStayApart() {
        // (At 10 m with 2.5 m of scatter per hit the two blur into one: before the halves were
        // joined, 1 of these 20 came out as one cluster; now 2 do.)
        var mixed: [String] = []
        for d in [11.0, 12, 13] {
            for seed in 0..<20 {
                let points = scatter(spots: [(0, 0), (d, 0)], perSpot: 8, sigma: 2.5, seed: UInt64(500 + seed))
                for c in EventClustering.cluster(points, radius: 8) {
                    let first = c.members.filter { points[$0].key < 10_000 }.count
                    if first >= 3 && c.members.count - first >= 3 { mixed.append("\(d) m, seed \(seed): \(first)+\(c.members.count - first)") }
                }
            }
        }
        #expect(mixed.isEmpty, "clusters holding three or more hits of each defect: \(mixed)")
    }

    @Test("the clusters depend on the set of events, not the order they came in")
    func orderIndependent() {
        let spots = (0..<30).map { (Double($0 % 6) * 11, Double($0 / 6) * 9) }
        let points = scatter(spots: spots, perSpot: 7, sigma: 3, seed: 2)
        let reference = signature(EventClustering.cluster(points, radius: 8), points)
        var rng = SimRandom(seed: 3)
        for _ in 0..<5 {
            let shuffled = points.shuffled(using: &rng)
            #expect(signature(EventClustering.cluster(shuffled, radius: 8), shuffled) == reference)
        }
    }

    @Test("members lie within the radius of their centroid, strays within 1.5 radii")
    func radius() {
        let points = scatter(spots: [(0, 0), (5, 5), (30, 0)], perSpot: 40, sigma: 4, seed: 4)
        for c in EventClustering.cluster(points, radius: 8) {
            for m in c.members {
                let dx = points[m].x - c.x, dy = points[m].y - c.y
                #expect((dx * dx + dy * dy).squareRoot() <= (c.members.count > 1 ? 12 : 8) + 1e-6)
            }
        }
    }

    @Test("every point lands in exactly one cluster, whatever the geometry and weights")
    func robust() {
        var rng = SimRandom(seed: 9)
        for round in 0..<30 {
            let n = 50 + rng.index(400)
            let spread = rng.uniform(5, 80)
            let points = (0..<n).map { k in
                // Lines, clumps and zero weights: the shapes that push seeds around.
                let onLine = round % 3 == 0
                return ClusterPoint(
                    x: onLine ? Double(k) * rng.uniform(0.5, 3) : rng.gaussian(0, spread),
                    y: onLine ? 0 : rng.gaussian(0, spread / 3),
                    weight: round % 5 == 0 ? 0 : rng.uniform(0.01, 1), key: UInt64(k))
            }
            let clusters = EventClustering.cluster(points, radius: rng.uniform(3, 12))
            let members = clusters.flatMap(\.members).sorted()
            #expect(members == Array(points.indices), "round \(round)")
            // Each centroid is finite and inside its members' bounding box.
            #expect(clusters.allSatisfy { c in
                let xs = c.members.map { points[$0].x }, ys = c.members.map { points[$0].y }
                return c.x >= xs.min()! - 1e-9 && c.x <= xs.max()! + 1e-9 && c.y >= ys.min()! - 1e-9 && c.y <= ys.max()! + 1e-9
            }, "round \(round)")
        }
    }

    @Test("empty and single inputs")
    func edges() {
        #expect(EventClustering.cluster([], radius: 8).isEmpty)
        let one = EventClustering.cluster([ClusterPoint(x: 3, y: 4, key: 1)], radius: 8)
        #expect(one.count == 1 && one[0].members == [0] && one[0].x == 3 && one[0].y == 4)
    }
}

@Suite("coverage grid")
struct CoverageGridTests {
    @Test("a car standing with GPS jitter passes nothing; driving on, it passes its street one way")
    func standingJitter() {
        var rng = SimRandom(seed: 9)
        // 30 s waiting 6 m short of a spot, fixes scattered 2.5 m, the phone saying 0 m/s ...
        var track: [Coverage.TrackPoint] = []
        for second in 0..<30 {
            let x = rng.gaussian(0, 2.5), y = rng.gaussian(-6, 2.5)
            track.append((x: x, y: y, t: Double(second) * 1_000, speed: 0))
        }
        #expect(Coverage.cells(track: track).isEmpty)
        // ... then north at 10 m/s.
        for second in 1...5 { track.append((x: 0, y: -6 + 10 * Double(second), t: 30_000 + Double(second) * 1_000, speed: 10)) }
        let cells = Coverage.cells(track: track)
        #expect(Set(cells.map(\.direction)) == [DirectionBin.of(heading: 0)!], "\(Set(cells.map(\.direction)))")
        // A phone that reports no speed: the track alone decides, as before.
        let unknown: [Coverage.TrackPoint] = track.map { (x: $0.x, y: $0.y, t: $0.t, speed: .nan) }
        #expect(Set(Coverage.cells(track: unknown).map(\.direction)).count > 1)
    }

    @Test("metres driven, trips and devices per square; each (cell, trip) pair counts once")
    func grid() {
        // Trip 1 drives 100 m east inside the square at the origin; trip 2 (device A) and trip 3
        // (device A) drive its first 50 m; trip 4 (unknown device) one cell in the next square.
        var rows: [(cell: Int64, trip: Int64, device: String?)] = []
        for i in 0..<20 { rows.append((Coverage.cellKey(x: 2.5 + 5 * Double(i), y: 50), 1, "B")) }
        for t in [Int64(2), 3] { for i in 0..<10 { rows.append((Coverage.cellKey(x: 2.5 + 5 * Double(i), y: 50), t, "A")) } }
        rows.append((Coverage.cellKey(x: 102.5, y: 50), 4, nil))
        let squares = Coverage.grid(rows, size: 100)
        #expect(squares.count == 2)
        #expect(squares[0] == CoverageSquare(x: 0, y: 0, size: 100, distance: 200, trips: 3, devices: 2))
        #expect(squares[1] == CoverageSquare(x: 100, y: 0, size: 100, distance: 5, trips: 1, devices: 1))
        #expect(Coverage.grid(rows, size: 10).count == 11, "ten 10 m squares along the street, one beyond")
        let southWest = Coverage.grid([(Coverage.cellKey(x: -3, y: -3), 1, nil)], size: 100)
        #expect(southWest.first?.x == -100 && southWest.first?.y == -100, "negative coordinates floor, not truncate")
    }

    /// A one-sided spot hit by 6 of 7 passing trips whose events call it a casting.
    func oneSidedSpot(strength: Double, dipToStrike: Double, timedHits: Int = 3) -> ClusterSummary {
        var s = ClusterSummary()
        s.events = 6
        s.trips = 6
        s.hits = 6
        s.passes = 7
        s.hitRatio = 6.0 / 7
        s.directions = [2]
        s.medianLateralRatio = 0.8
        s.votes = [.casting: 1]
        s.strength = strength
        s.dipToStrike = dipToStrike
        s.timedHits = dipToStrike.isNaN ? 0 : timedHits
        return s
    }

    @Test("a short hole that strikes no harder than a cover is a pothole; a cover's length is not")
    func shortHoles() {
        #expect(ClusterClassifier.classify(oneSidedSpot(strength: 1.7, dipToStrike: 0.34)).cls == .pothole)
        #expect(ClusterClassifier.classify(oneSidedSpot(strength: 1.7, dipToStrike: 0.34)).reasons.contains { $0.contains("shorter than any access cover") })
        #expect(ClusterClassifier.classify(oneSidedSpot(strength: 1.7, dipToStrike: 0.52)).cls == .casting)
        #expect(ClusterClassifier.classify(oneSidedSpot(strength: 1.7, dipToStrike: .nan)).cls == .casting)
        #expect(ClusterClassifier.classify(oneSidedSpot(strength: 1.7, dipToStrike: 0.34)).reasons.contains { $0.hasSuffix("a hole)") })
        // Too soft to be a hole of any length, and the explanation says so rather than "a hole".
        let soft = ClusterClassifier.classify(oneSidedSpot(strength: 1.0, dipToStrike: 0.34))
        #expect(soft.cls == .casting)
        #expect(soft.reasons.contains { $0.hasSuffix("struck too weakly to count)") } && !soft.reasons.contains { $0.contains("a hole") }, "\(soft.reasons)")
        // Short and nearly hard enough: still a casting, so not "a hole" either (a review's case).
        let almost = ClusterClassifier.classify(oneSidedSpot(strength: 1.34, dipToStrike: 0.39))
        #expect(almost.cls == .casting && !almost.reasons.contains { $0.contains("a hole") }, "\(almost.cls) \(almost.reasons)")
        // Hard enough on its own, whatever its length.
        #expect(ClusterClassifier.classify(oneSidedSpot(strength: 2.6, dipToStrike: 0.55)).cls == .pothole)
        // One timing alone must be clearly short.
        #expect(ClusterClassifier.classify(oneSidedSpot(strength: 1.7, dipToStrike: 0.33, timedHits: 1)).cls == .pothole)
        #expect(ClusterClassifier.classify(oneSidedSpot(strength: 1.7, dipToStrike: 0.42, timedHits: 1)).cls == .casting)
        #expect(ClusterClassifier.classify(oneSidedSpot(strength: 1.7, dipToStrike: 0.42, timedHits: 2)).cls == .pothole)
    }

    @Test("a cluster's dip to strike is the median of its timed events (0.2 m or more) at 11 m/s, with their count")
    func dipToStrikeSummary() {
        func event(_ trip: Int64, _ gap: Double, speed: Double = 11) -> EventEvidence {
            EventEvidence(trip: trip, device: nil, t: Double(trip), heading: 90, speed: speed, peak: 4, lateralRatio: 0.8,
                          signature: .dipFirst, kind: .casting, confidence: 0.8, rate: 100, dipToStrike: gap)
        }
        let three = ClusterSummary.of(events: [event(1, 0.30), event(2, .nan), event(3, 0.36), event(4, 0.50)], passingTrips: [:])
        #expect(abs(three.dipToStrike - 0.36) < 1e-9)
        #expect(three.timedHits == 3)
        let one = ClusterSummary.of(events: [event(1, 0.30), event(2, .nan)], passingTrips: [:])
        #expect(abs(one.dipToStrike - 0.30) < 1e-9 && one.timedHits == 1)
        let none = ClusterSummary.of(events: [event(1, .nan), event(2, 0.1)], passingTrips: [:])
        #expect(none.dipToStrike.isNaN && none.timedHits == 0)
        // Closer than a tyre's contact patch: noise, not a timed drop.
        let noisy = ClusterSummary.of(events: [event(1, 0.50), event(2, 0.12), event(3, 0.30)], passingTrips: [:])
        #expect(abs(noisy.dipToStrike - 0.40) < 1e-9)
        // The strike lags the edge by a fixed time, so a faster wheel's gap reads longer: 1.5 cm
        // per m/s is taken off above 11 m/s and added below (0.62 -> 0.56, 0.40 -> 0.43).
        let mixed = ClusterSummary.of(events: [event(1, 0.62, speed: 15), event(2, 0.40, speed: 9)], passingTrips: [:])
        #expect(abs(mixed.dipToStrike - 0.495) < 1e-9)
        // A timing without a speed cannot be corrected: it is not counted.
        let unknownSpeed = ClusterSummary.of(events: [event(1, 0.30), event(2, 0.31, speed: .nan)], passingTrips: [:])
        #expect(unknownSpeed.timedHits == 1 && abs(unknownSpeed.dipToStrike - 0.30) < 1e-9)
    }
}
