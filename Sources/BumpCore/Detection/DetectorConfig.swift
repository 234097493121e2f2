/// Tunables of the bump detector. Defaults are calibrated on simulated trips at 5-400 Hz;
/// every threshold is in physical units so it means the same at any sample rate.
public struct DetectorConfig: Sendable, Equatable {
    /// m/s. Below it nothing counts: the vehicle is stopped and the phone may be in a hand.
    public var minSpeed = 2.5
    /// Milliseconds without a GPS fix after which detection pauses (speed unknown).
    public var maxFixAge = 12_000.0
    /// Hz. Corner of the high-pass that isolates jolts (clamped below Nyquist at low rates).
    public var joltCutoff = 2.0
    /// Hz. Band of the long-wavelength body heave that speed humps cause.
    public var swellLow = 0.3
    public var swellHigh = 2.5
    /// A jolt must exceed this many times the trip's running noise floor (RMS) ...
    public var noiseFactor = 5.0
    /// ... and at least `minJolt + joltPerSpeed × speed` m/s²: faster driving shakes more, so the
    /// threshold is speed-normalised as in Pothole Patrol.
    public var minJolt = 1.2
    public var joltPerSpeed = 0.03
    /// m/s², minimum swell (body heave) that counts as a bump on its own.
    public var minSwell = 1.3
    /// Milliseconds the reorder buffer waits for late samples.
    public var holdback = 250.0
    /// Milliseconds to add to event times before looking up the GPS position (receiver lag).
    public var gpsLag = 0.0
    /// Milliseconds over which positions are interpolated or extrapolated.
    public var maxInterpolationGap = 10_000.0
    /// Milliseconds of samples an event waits for the fix after it (about 1 s at 1 Hz GPS).
    /// In a GPS dropout it is then placed from the fixes before it, so a stream can announce it
    /// within 2 s of the hit instead of waiting out the dropout.
    public var maxFixWait = 1_500.0

    public init() {}
}
