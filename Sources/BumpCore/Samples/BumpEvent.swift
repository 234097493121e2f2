/// What a bump looks like to the detector's eyes; the classifier's guess of what caused it.
public enum BumpKind: String, Sendable, CaseIterable, Codable {
    case pothole
    case casting
    case speedHump = "speed_hump"
    case railCrossing = "rail_crossing"
    case other
}

/// Which way the vertical acceleration went first: a wheel dropping into a hole pulls the body
/// down first; a wheel climbing a hump or a raised cover pushes it up first.
public enum BumpSignature: String, Sendable, Codable {
    case dipFirst = "dip"
    case riseFirst = "rise"
}

/// One detected bump on one trip, with the evidence the clusterer and the reviewer need.
public struct BumpEvent: Sendable, Equatable {
    /// Index of the trip in the reader's trip table.
    public var trip: Int
    /// Milliseconds, the moment the first axle met the feature.
    public var t: Double
    /// Interpolated WGS84 position; NaN when the trip had no usable fix near the event.
    public var lat: Double
    public var lon: Double
    /// 68 % horizontal accuracy of that position, metres (grows when interpolating over gaps).
    public var accuracy: Double
    /// Ground speed m/s and heading degrees clockwise from north (NaN when unknown).
    public var speed: Double
    public var heading: Double
    /// Largest absolute vertical jolt (band-passed), m/s².
    public var peak: Double
    /// Largest upward and downward vertical jolt, m/s² (peakDown is ≤ 0).
    public var peakUp: Double
    public var peakDown: Double
    /// Largest long-wavelength (body heave) vertical acceleration, m/s².
    public var swell: Double
    /// Seconds from first to last strong sample.
    public var duration: Double
    /// Peak lateral over peak vertical: high when one wheel is hit (roll), low for full-width features.
    public var lateralRatio: Double
    /// False while the trip's forward axis is not yet known; lateral then means all horizontal.
    public var lateralKnown: Bool
    public var signature: BumpSignature
    /// Number of distinct jolts in the event (two axles, two rails …).
    public var jolts: Int
    /// Spacing of the first two jolts along the road, metres (NaN with a single jolt).
    public var joltSpacing: Double
    /// Length of the long-wavelength swell along the road, metres.
    public var wavelength: Double
    /// Metres travelled from the deepest dip to the hardest strike that follows it: how far the
    /// wheel went between dropping and hitting the far edge. NaN below 50 Hz, where samples are
    /// too far apart to time it.
    public var dipToStrike: Double
    public var kind: BumpKind
    /// 0...1, how sure the per-event guess is.
    public var confidence: Double

    public init(
        trip: Int, t: Double, lat: Double = .nan, lon: Double = .nan, accuracy: Double = .nan,
        speed: Double = .nan, heading: Double = .nan, peak: Double = 0, peakUp: Double = 0,
        peakDown: Double = 0, swell: Double = 0, duration: Double = 0, lateralRatio: Double = 0,
        lateralKnown: Bool = false, signature: BumpSignature = .riseFirst, jolts: Int = 1,
        joltSpacing: Double = .nan, wavelength: Double = .nan, dipToStrike: Double = .nan, kind: BumpKind = .other,
        confidence: Double = 0
    ) {
        self.trip = trip
        self.t = t
        self.lat = lat
        self.lon = lon
        self.accuracy = accuracy
        self.speed = speed
        self.heading = heading
        self.peak = peak
        self.peakUp = peakUp
        self.peakDown = peakDown
        self.swell = swell
        self.duration = duration
        self.lateralRatio = lateralRatio
        self.lateralKnown = lateralKnown
        self.signature = signature
        self.jolts = jolts
        self.joltSpacing = joltSpacing
        self.wavelength = wavelength
        self.dipToStrike = dipToStrike
        self.kind = kind
        self.confidence = confidence
    }
}
