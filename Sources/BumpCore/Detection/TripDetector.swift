import RealModule

/// Online bump detection for one trip: rows in (any order within the holdback window), events
/// out. The same code serves batch files, uploads and streams, so all three agree.
///
/// Stages: reorder → rate estimate → orientation (vertical/lateral) → filters designed from
/// the measured rate → jolt/swell detector with a speed-normalised, noise-adaptive threshold
/// → features and per-event kind → position from the GPS fixes around the event.
/// Memory is bounded: ring buffers and windows only, nothing grows with trip length.
public struct TripDetector {
    public let trip: Int
    public let config: DetectorConfig
    /// Events whose position is final, in time order. The caller takes them (`removeAll`).
    public var ready: [BumpEvent] = []
    public private(set) var stats = TripStats()

    private var reorder: ReorderBuffer<SIMD3<Double>>
    private var warmup: [(t: Double, a: SIMD3<Double>)] = []
    private var chain: SignalChain?
    private var track = GPSTrack()
    private var previousFix: Fix?
    /// Events waiting for the fix after them.
    private var unlocated: [BumpEvent] = []
    private var newestSample = -Double.infinity
    /// A sample far ahead of the newest, until the next sample confirms or strands it.
    private var aheadSample: (t: Double, a: SIMD3<Double>)?
    /// Batch mode: samples the reorder buffer released that have not run through the chain yet.
    private var batching: Bool
    private var queued: [QueuedSample] = []
    private var ticks: [SignalChain.Tick] = []
    private var splits: [SignalChain.Split] = []
    /// Samples the stages ran (the rest went one by one): lets tests see that batching ran.
    private(set) var stagedSamples = 0

    struct QueuedSample {
        var t: Double
        var a: SIMD3<Double>
        /// `newestSample` when the sample was released.
        var newest: Double
    }

    /// Creates the detector of one trip.
    ///
    /// With `batching`, released samples run through the chain in groups (at the latest before
    /// the next fix, in `runQueued` and in `finish`): the same events, found faster, because
    /// the samples of a group overlap in the CPU instead of each waiting for the square root,
    /// division and filters of the one before. Events then become `ready` a group later (about
    /// `queueLimit` samples), so streams, which report as they go, do not batch.
    public init(trip: Int, config: DetectorConfig = DetectorConfig(), batching: Bool = false) {
        self.trip = trip
        self.config = config
        self.batching = batching
        reorder = ReorderBuffer(holdback: config.holdback)
    }

    /// Samples queued in batch mode before they are run.
    static let queueLimit = 64
    /// Fewer queued samples than this run one by one.
    static let smallestBatch = 8

    /// Leaves batch mode, running what is queued (events may become `ready`).
    public mutating func stopBatching() {
        runQueued()
        batching = false
    }

    /// Takes one row of this trip.
    @inline(__always)
    public mutating func accept(_ row: TraceRow) {
        if row.hasFix { acceptFix(row) }
        if row.hasAcceleration {
            stats.samples += 1
            let a = SIMD3(row.ax, row.ay, row.az)
            if let held = aheadSample { confirmAhead(held, by: row.t) }
            // A sample far ahead of the trip waits for the next: only if that one is there too
            // did the trip go on there (a pause). One wrong clock must not hold everything
            // after it back, which would stop the reordering for the rest of the trip.
            if row.t > newestSample + Self.maxJump && newestSample > -.infinity && aheadSample == nil {
                aheadSample = (row.t, a)
                return
            }
            take(row.t, a)
        }
    }

    /// How far (ms) a sample may run ahead of the newest one before the next must confirm it.
    static let maxJump = 60_000.0

    /// The held far-ahead sample, taken when the sample at `t` is near it, else dropped.
    @inline(never)
    private mutating func confirmAhead(_ held: (t: Double, a: SIMD3<Double>), by t: Double) {
        aheadSample = nil
        if abs(t - held.t) <= Self.maxJump { take(held.t, held.a) } else { stats.strandedSamples += 1 }
    }

    @inline(__always)
    private mutating func take(_ t: Double, _ a: SIMD3<Double>) {
        reorder.insert(t, a)
        newestSample = max(newestSample, t)
        if batching {
            while let (t, a) = reorder.popReady() { queued.append(QueuedSample(t: t, a: a, newest: newestSample)) }
            if queued.count >= Self.queueLimit { runQueued() }
        } else {
            while let (t, a) = reorder.popReady() { process(t, a) }
        }
    }

    /// Runs the samples queued in batch mode through the chain, with the same results as
    /// one by one at their release, so the events they complete become `ready`.
    public mutating func runQueued() {
        guard !queued.isEmpty else { return }
        let newest = newestSample
        var samples: [QueuedSample] = []
        swap(&samples, &queued)
        defer {
            newestSample = newest
            samples.removeAll(keepingCapacity: true)
            swap(&samples, &queued)
        }
        if ticks.count < samples.count {
            ticks = Array(repeating: SignalChain.Tick(t: 0, jolt: 0, swell: 0, lateral: 0), count: samples.count)
            splits = Array(repeating: (0, .zero), count: samples.count)
        }
        var i = 0
        // One at a time while warming up (the chain starts somewhere in here), and a handful
        // (a fix soon after the last run): the stages cost more than they save on it.
        while i < samples.count, chain == nil || samples.count < Self.smallestBatch {
            newestSample = samples[i].newest
            process(samples[i].t, samples[i].a)
            i += 1
        }
        guard i < samples.count else { return }
        // The stages of the step each over the whole run, so successive samples overlap.
        let first = i
        stagedSamples += samples.count - first
        samples.withUnsafeBufferPointer { queue in
            splits.withUnsafeMutableBufferPointer { out in
                chain!.orient(UnsafeBufferPointer(rebasing: queue[first...]), into: out.baseAddress!)
            }
        }
        while i < samples.count {
            let done = samples.withUnsafeBufferPointer { queue in
                splits.withUnsafeBufferPointer { splits in
                    ticks.withUnsafeMutableBufferPointer { out in
                        chain!.filter(UnsafeBufferPointer(rebasing: queue[i...]), splits.baseAddress! + (i - first), into: out.baseAddress!)
                    }
                }
            }
            var k = 0
            while k < done {
                k += ticks.withUnsafeBufferPointer { ticks in
                    chain!.decide(UnsafeBufferPointer(rebasing: ticks[k..<done]), track: track, maxFixAge: config.maxFixAge, into: &unlocated)
                }
                if !unlocated.isEmpty {
                    newestSample = samples[i + k - 1].newest
                    locatePending(final: false)
                }
            }
            i += done
            if i < samples.count {
                // A sample that needs the whole step (a gap, a rate redesign).
                newestSample = samples[i].newest
                chain!.refreshSpeed(samples[i].t, track: track, maxFixAge: config.maxFixAge)
                chain!.step(samples[i].t, splits[i - first], into: &unlocated)
                if !unlocated.isEmpty { locatePending(final: false) }
                i += 1
            }
        }
    }

    /// Ends the trip: flushes every buffer and places the remaining events as well as it can.
    public mutating func finish() {
        if aheadSample != nil {
            aheadSample = nil
            stats.strandedSamples += 1
        }
        runQueued()
        while let (t, a) = reorder.popAny() { process(t, a) }
        if chain == nil && !warmup.isEmpty { startChain() }
        chain?.closeEvent(into: &unlocated)
        stats.lateSamples = reorder.late
        stats.duplicateSamples = reorder.duplicates
        locatePending(final: true)
    }

    private mutating func acceptFix(_ row: TraceRow) {
        // The fix changes the speed and orientation the queued samples must not see.
        runQueued()
        let fix = Fix(t: row.t, lat: row.lat, lon: row.lon, speed: row.speed, accuracy: row.accuracy)
        stats.fixes += 1
        track.insert(fix)
        if let p = previousFix, fix.t > p.t {
            let dt = (fix.t - p.t) / 1000
            let valid = dt >= 0.5 && dt <= 3 && !fix.speed.isNaN && !p.speed.isNaN
            chain?.orientation.fixInterval(speedChange: valid ? (fix.speed - p.speed) / dt : 0, valid: valid)
        }
        if previousFix == nil || fix.t > previousFix!.t { previousFix = fix }
        if !unlocated.isEmpty { locatePending(final: false) }
    }

    @inline(__always)
    private mutating func process(_ t: Double, _ a: SIMD3<Double>) {
        // Runs the sample through the chain in place (no copy of its buffers). One optional
        // access per sample: each `chain!` or `chain != nil` costs a call to read the tag.
        guard chain?.feed(t, a, track: track, maxFixAge: config.maxFixAge, into: &unlocated) != nil else {
            warmup.append((t, a))
            if warmup.count >= 48 || (warmup.count >= 8 && t - warmup[0].t >= 6_000) { startChain() }
            return
        }
        if !unlocated.isEmpty { locatePending(final: false) }
    }

    /// Measures the sample rate from the first samples and designs the filters for it.
    private mutating func startChain() {
        var gaps: [Double] = []
        for i in 1..<max(1, warmup.count) { gaps.append(warmup[i].t - warmup[i - 1].t) }
        gaps.sort()
        let median = gaps.isEmpty ? 10 : max(gaps[gaps.count / 2], 1)
        let rate = min(1_000, max(1, 1_000 / median))
        stats.rate = rate
        chain = SignalChain(trip: trip, rate: rate, config: config, first: warmup[0].a)
        let samples = warmup
        warmup = []
        for s in samples { chain!.feed(s.t, s.a, track: track, maxFixAge: config.maxFixAge, into: &unlocated) }
    }

    /// Gives events their position once the fix after them is in (or it is clear none will come).
    private mutating func locatePending(final: Bool) {
        var kept = 0
        for i in unlocated.indices {
            var e = unlocated[i]
            let when = e.t + config.gpsLag
            let settled = final || track.isBracketed(when) || newestSample - when > config.maxFixWait
            guard settled else {
                unlocated[kept] = e
                kept += 1
                continue
            }
            if let p = track.locate(when, maxGap: config.maxInterpolationGap) {
                e.lat = p.lat
                e.lon = p.lon
                e.accuracy = p.accuracy
                e.heading = p.heading
                if e.speed.isNaN { e.speed = p.speed }
            } else {
                stats.unlocatedEvents += 1
            }
            stats.events += 1
            ready.append(e)
        }
        unlocated.removeLast(unlocated.count - kept)
    }
}

/// Counters of one trip's detection.
public struct TripStats: Sendable, Equatable {
    public var samples = 0
    public var fixes = 0
    public var events = 0
    public var unlocatedEvents = 0
    public var lateSamples = 0
    public var duplicateSamples = 0
    /// Samples far ahead of the rest of the trip with no other sample near them (a wrong clock): dropped.
    public var strandedSamples = 0
    /// Measured accelerometer rate, Hz (0 before it is known).
    public var rate = 0.0
    public init() {}
}

/// The filters, orientation and event state of one trip, designed for its sample rate.
struct SignalChain {
    let trip: Int
    let config: DetectorConfig
    var rate: Double {
        didSet { nominalInterval = 1_000 / rate }
    }
    /// Milliseconds between samples at `rate`, kept so the step needs no division.
    private var nominalInterval: Double
    var orientation: Orientation
    private var filters: Filters
    /// Current GPS speed (nil: unknown) and until when it holds.
    var speed: Double?
    var speedValidUntil = -Double.infinity

    private var lastT: Double
    private var settleUntil: Double
    private var noise: OnePole
    // Rate drift: phones throttle sensors; redesign filters when the real rate moves away.
    private var driftSum = 0.0
    private var driftCount = 0

    /// Short history before a trigger, to see how the event began.
    private var history: RingBuffer<Tick>
    private var event: [Tick] = []
    private var eventStart = 0.0
    private var lastStrong = 0.0
    private var eventSpeed = 0.0
    private var threshold = 0.0
    private var swellThreshold = 0.0
    private var open = false
    /// Thresholds scale with the largest value noise reaches in a second of samples (extreme
    /// value of N Gaussian samples grows like √(2 ln N)), so the false-alarm rate per second is
    /// the same at 5 Hz and at 400 Hz. 1 at 100 Hz.
    private var rateScale: Double
    static func rateScale(_ rate: Double) -> Double {
        (2 * Double.log(max(rate, 12))).squareRoot() / (2 * Double.log(100.0)).squareRoot()
    }

    struct Tick {
        var t: Double
        var jolt: Double
        var swell: Double
        /// Squared lateral (or whole horizontal) jolt.
        var lateral: Double
    }

    struct Filters {
        var jolt1: Biquad, jolt2: Biquad
        var swellHigh: Biquad, swellLow: Biquad
        var hx: Biquad, hy: Biquad, hz: Biquad

        init(rate: Double, config: DetectorConfig) {
            let jc = min(config.joltCutoff, 0.3 * rate)
            jolt1 = .highPass(cutoff: jc, rate: rate, q: 0.5412)
            jolt2 = .highPass(cutoff: jc, rate: rate, q: 1.3066)
            swellHigh = .highPass(cutoff: config.swellLow, rate: rate)
            swellLow = .lowPass(cutoff: min(config.swellHigh, 0.4 * rate), rate: rate)
            hx = .highPass(cutoff: jc, rate: rate)
            hy = .highPass(cutoff: jc, rate: rate)
            hz = .highPass(cutoff: jc, rate: rate)
        }
    }

    init(trip: Int, rate: Double, config: DetectorConfig, first: SIMD3<Double>) {
        self.trip = trip
        self.config = config
        self.rate = rate
        nominalInterval = 1_000 / rate
        orientation = Orientation(rate: rate, first: first)
        filters = Filters(rate: rate, config: config)
        rateScale = SignalChain.rateScale(rate)
        noise = OnePole(tau: 4, rate: rate, initial: 0.04)
        lastT = -Double.infinity
        settleUntil = -Double.infinity
        history = RingBuffer(capacity: max(4, Int((0.35 * rate).rounded(.up)) + 1), filler: Tick(t: 0, jolt: 0, swell: 0, lateral: 0))
        event.reserveCapacity(Int(3 * rate) + 8)
    }

    /// Runs one sample through, first giving the chain the current speed from `track`
    /// (refreshed every 100 ms: fixes come at ~1 Hz).
    @inline(__always)
    mutating func feed(_ t: Double, _ a: SIMD3<Double>, track: GPSTrack, maxFixAge: Double, into events: inout [BumpEvent]) {
        refreshSpeed(t, track: track, maxFixAge: maxFixAge)
        process(t, a, into: &events)
    }

    @inline(__always)
    mutating func refreshSpeed(_ t: Double, track: GPSTrack, maxFixAge: Double) {
        if t >= speedValidUntil {
            speed = track.speed(at: t, maxAge: maxFixAge)
            speedValidUntil = t + 100
        }
    }

    typealias Split = (vertical: Double, horizontal: SIMD3<Double>)

    /// Stage one of the step for a run of samples: the orientation split of each into `splits`.
    /// It depends on the samples alone (the axes change only at fixes, which end a run).
    mutating func orient(_ samples: UnsafeBufferPointer<TripDetector.QueuedSample>, into splits: UnsafeMutablePointer<Split>) {
        // On a copy, so its state can stay in registers (stores through `splits` might alias `self`).
        var o = orientation
        for k in samples.indices { splits[k] = o.split(samples[k].a) }
        orientation = o
    }

    /// Stage two for a run: timing and filters, one tick each into `ticks`. Stops before the
    /// first sample that needs the whole step (a gap, a rate redesign; all of them before the first step), which
    /// the caller then runs with `step` after `decide` for the ticks; returns how many ticks it
    /// wrote. Speed, events and thresholds are left alone, so splitting the step changes no result.
    mutating func filter(
        _ samples: UnsafeBufferPointer<TripDetector.QueuedSample>, _ splits: UnsafePointer<Split>,
        into ticks: UnsafeMutablePointer<Tick>
    ) -> Int {
        guard settleUntil != -Double.infinity else { return 0 }
        let nominal = nominalInterval
        let gapLimit = max(5 * nominal, 500), driftLimit = 3 * nominal
        var f = filters
        var last = lastT, sum = driftSum, count = driftCount
        defer {
            filters = f
            (lastT, driftSum, driftCount) = (last, sum, count)
        }
        let lateralAxis = orientation.lateral
        for k in samples.indices {
            let t = samples[k].t
            let dt = t - last
            if dt > gapLimit { return k }
            if dt < driftLimit {
                if count == 2_047 { return k }
                sum += dt
                count += 1
            }
            last = t
            ticks[k] = Self.signal(t, splits[k], &f, lateralAxis)
        }
        return samples.count
    }

    /// Stage three for a run of ticks: speed and event logic, tick by tick. Returns after the
    /// first tick that leaves `events` non-empty, so the caller can place them as it would
    /// have after that sample, or once all are done; returns how many it took.
    mutating func decide(_ ticks: UnsafeBufferPointer<Tick>, track: GPSTrack, maxFixAge: Double, into events: inout [BumpEvent]) -> Int {
        for k in ticks.indices {
            refreshSpeed(ticks[k].t, track: track, maxFixAge: maxFixAge)
            decide(ticks[k], into: &events)
            if !events.isEmpty { return k + 1 }
        }
        return ticks.count
    }

    /// The filters' part of the step for one sample.
    @inline(__always)
    private static func signal(_ t: Double, _ split: Split, _ filters: inout Filters, _ lateralAxis: SIMD3<Double>?) -> Tick {
        let (vertical, horizontal) = split
        let jolt = filters.jolt2.step(filters.jolt1.step(vertical))
        let swell = filters.swellLow.step(filters.swellHigh.step(vertical))
        let h = SIMD3(filters.hx.step(horizontal.x), filters.hy.step(horizontal.y), filters.hz.step(horizontal.z))
        let lateral: Double
        // Squared, so the hot path needs no square root; rooted once per event.
        if let l = lateralAxis {
            let d = (h * l).sum()
            lateral = d * d
        } else {
            lateral = (h * h).sum()
        }
        return Tick(t: t, jolt: jolt, swell: swell, lateral: lateral)
    }

    @inline(__always)
    mutating func process(_ t: Double, _ a: SIMD3<Double>, into events: inout [BumpEvent]) {
        step(t, orientation.split(a), into: &events)
    }

    /// The step after the orientation split (which nothing here depends on).
    @inline(__always)
    mutating func step(_ t: Double, _ split: Split, into events: inout [BumpEvent]) {
        let dt = t - lastT
        lastT = t
        let nominal = nominalInterval
        if dt > max(5 * nominal, 500) {
            // A gap (sensor paused, file spliced): start the filters afresh and let them settle.
            closeEvent(into: &events)
            filters = Filters(rate: rate, config: config)
            history.removeAll()
            settleUntil = t + 1_500
        } else if dt < 3 * nominal {
            driftSum += dt
            driftCount += 1
            if driftCount == 2_048 {
                let measured = 1_000 / (driftSum / Double(driftCount))
                if abs(measured / rate - 1) > 0.25 {
                    rate = measured
                    rateScale = SignalChain.rateScale(rate)
                    filters = Filters(rate: rate, config: config)
                    settleUntil = t + 1_500
                }
                driftSum = 0
                driftCount = 0
            }
        }
        if settleUntil == -Double.infinity { settleUntil = t + 1_500 }
        decide(Self.signal(t, split, &filters, orientation.lateral), into: &events)
    }

    /// The event logic of the step.
    @inline(__always)
    private mutating func decide(_ tick: Tick, into events: inout [BumpEvent]) {
        let t = tick.t, jolt = tick.jolt, swell = tick.swell
        let v = speed ?? 0
        let moving = speed != nil && v >= config.minSpeed && t >= settleUntil
        if open {
            event.append(tick)
            if abs(jolt) > 0.5 * threshold || abs(swell) > 0.5 * swellThreshold { lastStrong = t }
            // Quiet for long enough that the rear axle has passed too, or too long an event.
            let quiet = min(1_000, max(250, 3_200 / max(eventSpeed, 1)))
            if t - lastStrong > quiet || t - eventStart > 3_000 { closeEvent(into: &events) }
            return
        }
        // Compared squared: no square root per sample.
        let base = config.minJolt + config.joltPerSpeed * v
        let floor2 = config.noiseFactor * config.noiseFactor * noise.value
        let threshold2 = rateScale * rateScale * max(base * base, floor2)
        let swellThreshold2 = max(config.minSwell * config.minSwell, floor2)
        if moving && (jolt * jolt > threshold2 || swell * swell > swellThreshold2) {
            threshold = threshold2.squareRoot()
            swellThreshold = swellThreshold2.squareRoot()
            open = true
            eventStart = t
            lastStrong = t
            eventSpeed = v
            event.removeAll(keepingCapacity: true)
            event.append(tick)
            return
        }
        history.append(tick)
        // The noise floor learns only from ordinary driving, clipped so one bump cannot lift it.
        if moving { _ = noise.step(min(jolt * jolt, 9 * noise.value + 0.01)) }
    }

    /// Turns the open event, if any, into a BumpEvent (without position yet).
    mutating func closeEvent(into events: inout [BumpEvent]) {
        guard open else { return }
        open = false
        defer { history.removeAll() }
        var e = BumpEvent(trip: trip, t: eventStart, speed: eventSpeed)
        e.lateralKnown = orientation.lateral != nil
        var peak = 0.0, up = 0.0, down = 0.0, swell = 0.0, lateral = 0.0
        var firstStrong = eventStart, lastStrongT = eventStart
        for k in event {
            peak = max(peak, abs(k.jolt))
            up = max(up, k.jolt)
            down = min(down, k.jolt)
            swell = max(swell, abs(k.swell))
            lateral = max(lateral, k.lateral.squareRoot())
        }
        for k in event where abs(k.jolt) > 0.5 * threshold || abs(k.swell) > 0.5 * swellThreshold {
            if k.t < firstStrong { firstStrong = k.t }
            lastStrongT = k.t
        }
        e.peak = peak
        e.peakUp = up
        e.peakDown = down
        e.swell = swell
        e.duration = (lastStrongT - firstStrong) / 1_000
        e.lateralRatio = peak > 0 ? lateral / peak : 0
        // Signature: the sign of the first strong excursion, looking back into the history too.
        // Swell-dominated events (humps) are judged on the heave, jolts on the jolt band.
        let useSwell = swell > peak
        let bar = 0.2 * (useSwell ? swell : peak)
        var sign = 0.0
        for k in history where sign == 0 {
            let x = useSwell ? k.swell : k.jolt
            if abs(x) > bar { sign = x }
        }
        for k in event where sign == 0 {
            let x = useSwell ? k.swell : k.jolt
            if abs(x) > bar { sign = x }
        }
        e.signature = sign < 0 ? .dipFirst : .riseFirst
        // Distinct jolts: local maxima of |jolt| above 45 % of the peak, at least 50 ms apart.
        var peaks: [Double] = []
        var i = 1
        while i + 1 < event.count {
            let x = abs(event[i].jolt)
            if x >= 0.45 * peak && x >= abs(event[i - 1].jolt) && x >= abs(event[i + 1].jolt) {
                if let last = peaks.last, event[i].t - last < 50 {
                    // keep the first of a close pair
                } else if peaks.count < 8 {
                    peaks.append(event[i].t)
                }
            }
            i += 1
        }
        e.jolts = max(1, peaks.count)
        if peaks.count >= 2 { e.joltSpacing = (peaks[1] - peaks[0]) / 1_000 * eventSpeed }
        // Length of the heave along the road: time |swell| stays above 30 % of its peak.
        var above = 0
        for k in event where abs(k.swell) > 0.3 * swell { above += 1 }
        e.wavelength = Double(above) / rate * eventSpeed
        e.dipToStrike = dipToStrike()
        (e.kind, e.confidence) = EventClassifier.classify(e)
        events.append(e)
    }
}

extension SignalChain {
    /// Metres from the deepest dip to the hardest upward strike, looking back up to a metre of
    /// road before the strike (into the history too). A wheel that drops onto a flat sunken
    /// cover lands and rolls on before it climbs out; one that drops into a short hole strikes
    /// the far edge still falling, sooner (30-40 ms against 40-65 ms). NaN below 50 Hz: at
    /// 25 Hz one sample interval is the whole difference, and the measure shows none.
    func dipToStrike() -> Double {
        guard rate >= 50, eventSpeed > 0 else { return .nan }
        let count = history.count + event.count
        func tick(_ i: Int) -> Tick { i < history.count ? history[i] : event[i - history.count] }
        var strike = 0
        for i in 0..<count where tick(i).jolt > tick(strike).jolt { strike = i }
        let strikeT = tick(strike).t
        let lookBack = min(300, 1_000 / eventSpeed)
        var dip = -1
        var i = strike - 1
        while i >= 0 && strikeT - tick(i).t <= lookBack {
            if dip < 0 || tick(i).jolt < tick(dip).jolt { dip = i }
            i -= 1
        }
        guard dip >= 0 else { return .nan }
        // Each extreme's time refined by a parabola through it and its neighbours: at 100 Hz a
        // sample is 10 ms, a third of the gap between a short hole and a cover.
        func refined(_ i: Int) -> Double {
            guard i > 0, i + 1 < count else { return tick(i).t }
            let a = tick(i - 1).jolt, b = tick(i).jolt, c = tick(i + 1).jolt
            let curvature = a - 2 * b + c
            let offset = curvature == 0 ? 0 : max(-0.5, min(0.5, 0.5 * (a - c) / curvature))
            return tick(i).t + offset * (tick(i + 1).t - tick(i - 1).t) / 2
        }
        return (refined(strike) - refined(dip)) / 1_000 * eventSpeed
    }
}

/// A fixed-capacity ring of the most recent values, iterated oldest first.
struct RingBuffer<Element>: Sequence {
    private var storage: [Element]
    private var start = 0
    private(set) var count = 0

    init(capacity: Int, filler: Element) {
        storage = Array(repeating: filler, count: capacity)
    }

    @inline(__always)
    mutating func append(_ x: Element) {
        // Wrap by comparison, not `%`: a division per sample on the critical path.
        let capacity = storage.count
        if count < capacity {
            let i = start + count
            storage[i < capacity ? i : i - capacity] = x
            count += 1
        } else {
            storage[start] = x
            start = start + 1 < capacity ? start + 1 : 0
        }
    }

    mutating func removeAll() {
        start = 0
        count = 0
    }

    /// The `i`-th oldest value.
    subscript(i: Int) -> Element { storage[(start + i) % storage.count] }

    func makeIterator() -> AnyIterator<Element> {
        var i = 0
        return AnyIterator {
            guard i < count else { return nil }
            defer { i += 1 }
            return self[i]
        }
    }
}
