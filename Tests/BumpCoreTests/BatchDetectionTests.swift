@testable import BumpCore
import Testing

@Suite("Batched detection gives the per-sample results")
struct BatchDetectionTests {
    /// Rows of simulated trips, made awkward: a sensor pause, a rate that halves mid-trip
    /// (filters redesigned), samples out of order and duplicated, and trips interleaved in
    /// blocks, so the batch path meets every case where it must stop and step one sample; or
    /// row by row, as a time-ordered stream of trips comes, which makes batching stop.
    func awkwardRows(seed: UInt64, rowByRow: Bool) -> [(row: TraceRow, trip: Int)] {
        var config = SimulationConfig()
        config.trips = 3
        config.duration = 150
        config.rate = 100
        config.seed = seed
        config.city.blocksEast = 3
        config.city.blocksNorth = 3
        config.city.potholes = 30
        config.city.castings = 20
        let simulation = CitySimulation(config: config)
        var trips: [[TraceRow]] = []
        for i in 0..<config.trips {
            var sim = simulation.trip(i)
            var rows: [TraceRow] = []
            while let row = sim.next() { rows.append(row) }
            let start = rows.first?.t ?? 0
            switch i {
            case 0:  // a 2 s pause at 40 s
                rows.removeAll { $0.t > start + 40_000 && $0.t < start + 42_000 }
            case 1:  // half the accelerometer rate from 30 s on
                var n = 0
                rows.removeAll { row in
                    guard row.t > start + 30_000, row.hasAcceleration, !row.hasFix else { return false }
                    n += 1
                    return n % 2 == 0
                }
            default:  // neighbours swapped, some rows twice
                var k = 5
                while k + 1 < rows.count {
                    rows.swapAt(k, k + 1)
                    if k % 3 == 0 { rows.insert(rows[k], at: k) }
                    k += 37
                }
            }
            trips.append(rows)
        }
        var rows: [(row: TraceRow, trip: Int)] = []
        var next = Array(repeating: 0, count: trips.count)
        var block = 0
        while next.indices.contains(where: { next[$0] < trips[$0].count }) {
            for i in trips.indices {
                let count = rowByRow ? 1 : 20 + (block * 7 + i * 13) % 90
                for row in trips[i][next[i]..<min(next[i] + count, trips[i].count)] { rows.append((row, i)) }
                next[i] = min(next[i] + count, trips[i].count)
            }
            block += 1
        }
        return rows
    }

    @Test("same events, in the same order, as trip detectors stepping every sample",
          arguments: zip([UInt64(3), 11, 5], [false, false, true]))
    func sameEvents(seed: UInt64, rowByRow: Bool) {
        let rows = awkwardRows(seed: seed, rowByRow: rowByRow)
        var reference: [String] = []
        var single: [TripDetector] = (0..<3).map { TripDetector(trip: $0) }
        for (row, trip) in rows {
            single[trip].accept(row)
            reference += single[trip].ready.map { "\($0)" }
            single[trip].ready.removeAll()
        }
        for i in single.indices {
            single[i].finish()
            reference += single[i].ready.map { "\($0)" }
        }

        var batched = TraceDetector()
        var events: [String] = []
        for (row, trip) in rows {
            batched.accept(row, trip: trip)
            events += batched.events.map { "\($0)" }
            batched.events.removeAll()
        }
        batched.finish()
        events += batched.events.map { "\($0)" }

        #expect(reference.count > 10)
        #expect(events == reference)
        #expect(batched.tripStats == single.map(\.stats))
        #expect(batched.tripStats.contains { $0.lateSamples + $0.duplicateSamples > 0 })
        // Blocks of rows batch nearly every sample; rows of alternating trips stop batching.
        let samples = batched.tripStats.reduce(0) { $0 + $1.samples }
        if rowByRow {
            #expect(batched.stagedSamples < samples / 100)
        } else {
            #expect(batched.stagedSamples > samples / 2)
        }
    }
}

@Suite("A sample far ahead of its trip")
struct FarAheadSampleTests {
    func trip() -> [TraceRow] {
        var config = SimulationConfig()
        config.trips = 1
        config.duration = 120
        config.rate = 100
        config.seed = 5
        config.city.potholes = 30
        var sim = CitySimulation(config: config).trip(0)
        var rows: [TraceRow] = []
        while let row = sim.next() { rows.append(row) }
        return rows
    }

    func detect(_ rows: [TraceRow]) -> (events: [String], stats: TripStats) {
        var d = TraceDetector()
        var events: [String] = []
        for row in rows {
            d.accept(row, trip: 0)
            events += d.events.map { "\($0)" }
            d.events.removeAll()
        }
        d.finish()
        events += d.events.map { "\($0)" }
        return (events, d.tripStats[0])
    }

    @Test("one sample with a wrong clock (years ahead) is dropped and counted; the trip's events are as without it")
    func wrongClock() throws {
        let rows = trip()
        let reference = detect(rows)
        #expect(!reference.events.isEmpty)
        for at in [rows.count / 3, rows.count - 1] {
            var odd = rows
            odd.insert(TraceRow(t: rows[at].t + 10 * 365 * 86_400_000, ax: 0.1, ay: 9.8, az: 0.2), at: at)
            let got = detect(odd)
            #expect(got.events == reference.events, "a wrong clock at row \(at) changed the events")
            #expect(got.stats.strandedSamples == 1)
        }
    }

    @Test("a real pause of minutes is kept: the samples after it are detected as before")
    func realPause() throws {
        let rows = trip()
        let reference = detect(rows)
        // The second half five minutes later.
        let half = rows.count / 2
        let shifted = rows[..<half] + rows[half...].map { row -> TraceRow in
            var r = row
            r.t += 300_000
            return r
        }
        let got = detect(Array(shifted))
        #expect(got.stats.strandedSamples == 0)
        #expect(got.events.count >= reference.events.count - 2, "\(got.events.count) against \(reference.events.count)")
    }
}

