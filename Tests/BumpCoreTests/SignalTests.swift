import BumpCore
import RealModule
import Testing

/// Amplitude of a filter's steady-state response to a unit sine at `frequency`.
func gain(_ make: () -> Biquad, frequency: Double, rate: Double) -> Double {
    var f = make()
    let n = Int(rate * 20)
    var peak = 0.0
    for i in 0..<n {
        let y = f.step(Double.sin(2 * Double.pi * frequency * Double(i) / rate))
        if i > n / 2 { peak = max(peak, abs(y)) } // after the transient
    }
    return peak
}

@Suite("Filters designed from the sample rate")
struct BiquadTests {
    @Test("high-pass passes jolts and blocks gravity drift at every rate", arguments: [5.0, 25.0, 100.0, 400.0])
    func highPass(rate: Double) {
        let corner = min(2.0, 0.3 * rate)
        let make = { Biquad.highPass(cutoff: corner, rate: rate) }
        #expect(gain(make, frequency: 0.05, rate: rate) < 0.01)
        #expect(abs(gain(make, frequency: corner, rate: rate) - 0.7071) < 0.05)
        #expect(gain(make, frequency: min(4 * corner, 0.45 * rate), rate: rate) > 0.9)
    }

    @Test("low-pass corner is where it was asked, and clamps below Nyquist", arguments: [5.0, 50.0, 400.0])
    func lowPass(rate: Double) {
        let make = { Biquad.lowPass(cutoff: 1.0, rate: rate) }
        #expect(gain(make, frequency: 0.1, rate: rate) > 0.99)
        #expect(abs(gain(make, frequency: 1.0, rate: rate) - 0.7071) < 0.05)
        // A corner above Nyquist must not blow up.
        var wild = Biquad.lowPass(cutoff: rate, rate: rate)
        var y = 0.0
        for i in 0..<1000 { y = wild.step(i % 2 == 0 ? 1 : -1) }
        #expect(y.isFinite && abs(y) < 10)
    }

    @Test("priming removes the start-up transient")
    func prime() {
        var f = Biquad.lowPass(cutoff: 0.5, rate: 50)
        f.prime(9.81)
        #expect(abs(f.step(9.81) - 9.81) < 1e-9)
    }
}

@Suite("Reorder buffer")
struct ReorderBufferTests {
    @Test("puts jittered samples back in order, drops duplicates and counts late ones")
    func reorder() {
        var b = ReorderBuffer<Int>(holdback: 100)
        var out: [Double] = []
        for t in [0.0, 20, 10, 30, 30, 50, 40, 200, 35, 300] {
            b.insert(t, 0)
            while let (t, _) = b.popReady() { out.append(t) }
        }
        while let (t, _) = b.popAny() { out.append(t) }
        #expect(out == [0, 10, 20, 30, 40, 50, 200, 300])
        #expect(b.duplicates == 1)
        #expect(b.late == 1) // 35 arrived after 50 had been released
    }
}

@Suite("Virtual reorientation")
struct OrientationTests {
    @Test("vertical is recovered whatever way the phone lies", arguments: [0, 1, 2, 3, 4])
    func vertical(seed: Int) {
        var rng = SimRandom(seed: UInt64(seed))
        // A random "up" direction in the phone frame.
        var up = SIMD3(rng.gaussian(), rng.gaussian(), rng.gaussian())
        up /= (up * up).sum().squareRoot()
        let rate = 100.0
        var o = Orientation(rate: rate, first: 9.81 * up)
        var worst = 0.0
        for i in 0..<3_000 {
            let t = Double(i) / rate
            let bump = 2 * Double.sin(2 * Double.pi * 3 * t) // a 3 Hz vertical shake
            let (v, h) = o.split((9.81 + bump) * up)
            if i > 1_500 {
                worst = max(worst, abs(v - bump))
                #expect((h * h).sum().squareRoot() < 0.3)
            }
        }
        // Gravity's low-pass follows a little of the 3 Hz shake; the rest is vertical.
        #expect(worst < 0.35)
    }
}

@Suite("GPS track")
struct GPSTrackTests {
    @Test("interpolates between fixes and derives missing speed")
    func interpolate() throws {
        var track = GPSTrack()
        let a = (lat: 42.35, lon: -71.07)
        let b = LocalGeodesy.point(from: a, east: 10, north: 0)
        track.insert(Fix(t: 0, lat: a.lat, lon: a.lon, speed: .nan, accuracy: 4))
        track.insert(Fix(t: 1_000, lat: b.lat, lon: b.lon, speed: .nan, accuracy: 6))
        let p = try #require(track.locate(500, maxGap: 10_000))
        #expect(abs(LocalGeodesy.distance((p.lat, p.lon), a) - 5) < 0.01)
        #expect(p.accuracy == 6)
        #expect(abs(p.heading - 90) < 0.5)
        #expect(abs(p.speed - 10) < 0.01, "speed derived from positions")
        #expect(track.speed(at: 900, maxAge: 5_000).map { abs($0 - 10) < 0.01 } == true)
        #expect(track.isBracketed(900))
        #expect(!track.isBracketed(1_100))
    }

    @Test("extrapolates along the heading over a short gap, with growing uncertainty")
    func extrapolate() throws {
        var track = GPSTrack()
        let a = (lat: 42.35, lon: -71.07)
        for i in 0..<3 {
            let p = LocalGeodesy.point(from: a, east: 0, north: Double(i) * 10)
            track.insert(Fix(t: Double(i) * 1_000, lat: p.lat, lon: p.lon, speed: 10, accuracy: 4))
        }
        let p = try #require(track.locate(3_000, maxGap: 10_000))
        let north = LocalGeodesy.offset(from: a, to: (p.lat, p.lon)).north
        #expect(abs(north - 30) < 0.5)
        #expect(p.accuracy > 4)
        #expect(track.locate(30_000, maxGap: 10_000) == nil)
    }

    @Test("near the ends of a gap too long to bridge, and before the first fix: carried along the heading")
    func gapEnds() throws {
        var track = GPSTrack()
        let a = (lat: 42.35, lon: -71.07)
        // Eastward at 20 m/s, then 30 s without a fix.
        for t in [0.0, 1_000, 2_000, 32_000, 33_000] {
            let p = LocalGeodesy.point(from: a, east: t / 1_000 * 20, north: 0)
            track.insert(Fix(t: t, lat: p.lat, lon: p.lon, speed: 20, accuracy: 4))
        }
        func east(_ t: Double) throws -> (east: Double, accuracy: Double) {
            let p = try #require(track.locate(t, maxGap: 10_000))
            return (LocalGeodesy.offset(from: a, to: (p.lat, p.lon)).east, p.accuracy)
        }
        let after = try east(3_500), before = try east(30_500)
        #expect(abs(after.east - 70) < 0.5 && after.accuracy > 9, "1.5 s past the fix at 40 m: \(after)")
        #expect(abs(before.east - 610) < 0.5 && before.accuracy > 9, "1.5 s before the fix at 640 m: \(before)")
        #expect(track.locate(10_000, maxGap: 10_000) == nil, "the middle of the gap is nowhere")
    }
}

@Suite("Writers")
struct WriterTests {
    @Test("fixed-decimal formatting")
    func fixed() {
        func f(_ v: Double, _ p: Int) -> String {
            var out: [UInt8] = []
            TraceWriter.appendFixed(v, places: p, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        #expect(f(1780000000123.4, 1) == "1780000000123.4")
        #expect(f(-9.80665, 4) == "-9.8067")
        #expect(f(0.00004, 4) == "0")
        #expect(f(-0.00004, 4) == "0")
        #expect(f(42.3600001, 7) == "42.3600001")
        #expect(f(12.5, 2) == "12.5")
        #expect(f(.nan, 2) == "NaN")
    }

    @Test("JSON strings are escaped")
    func jsonString() {
        var out: [UInt8] = []
        TraceWriter.appendJSONString("a\"b\\c\nd\u{1}", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #""a\"b\\c\nd\u0001""#)
    }
}
