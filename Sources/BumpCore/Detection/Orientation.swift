/// Virtual reorientation of a phone lying any way in a vehicle (after Nericell).
///
/// Gravity is the low-passed acceleration; vertical is the component along it. The forward
/// axis is learned from how the horizontal acceleration correlates with GPS speed changes
/// (braking and pulling away), and lateral is perpendicular to both. When the phone is moved
/// (gravity turns by more than ~25°) the forward estimate starts again.
public struct Orientation {
    private var gx: OnePole, gy: OnePole, gz: OnePole
    /// Unit vector along gravity (pointing up: the accelerometer reads +g upwards at rest).
    public private(set) var up: SIMD3<Double> = .init(0, 0, 1)
    /// Long-run magnitude of gravity as this phone reads it (calibration differs by phone).
    private var gravity: OnePole
    private var forwardSum: SIMD3<Double> = .zero
    private var forwardEvidence = 0
    private var upAtReset: SIMD3<Double> = .init(0, 0, 1)
    /// Unit forward and lateral axes once learned.
    public private(set) var forward: SIMD3<Double>? = nil
    public private(set) var lateral: SIMD3<Double>? = nil

    // Mean horizontal acceleration between two GPS fixes, for the forward estimate.
    private var intervalSum: SIMD3<Double> = .zero
    private var intervalCount = 0

    /// Starts from a first sample so the first seconds are not a transient.
    public init(rate: Double, first a: SIMD3<Double>) {
        gx = OnePole(tau: 1.0, rate: rate, initial: a.x)
        gy = OnePole(tau: 1.0, rate: rate, initial: a.y)
        gz = OnePole(tau: 1.0, rate: rate, initial: a.z)
        let m = (a * a).sum().squareRoot()
        gravity = OnePole(tau: 20, rate: rate, initial: m > 1 ? m : 9.80665)
        up = m > 1 ? a / m : SIMD3(0, 0, 1)
        upAtReset = up
    }

    /// Splits one sample into vertical (gravity removed, + up) and the horizontal vector.
    @inline(__always)
    public mutating func split(_ a: SIMD3<Double>) -> (vertical: Double, horizontal: SIMD3<Double>) {
        let g = SIMD3(gx.step(a.x), gy.step(a.y), gz.step(a.z))
        let norm = (g * g).sum().squareRoot()
        if norm > 1 { up = g / norm }
        let along = (a * up).sum()
        let vertical = along - gravity.step(along)
        let horizontal = a - along * up
        intervalSum += horizontal
        intervalCount += 1
        return (vertical, horizontal)
    }

    /// Called at each GPS fix with the speed change since the previous one (m/s²).
    public mutating func fixInterval(speedChange dvdt: Double, valid: Bool) {
        defer {
            intervalSum = .zero
            intervalCount = 0
        }
        if (up * upAtReset).sum() < 0.9 { // about 25°: the phone was moved
            forwardSum = .zero
            forwardEvidence = 0
            forward = nil
            lateral = nil
            upAtReset = up
        }
        guard valid, intervalCount > 0, abs(dvdt) > 0.3 else { return }
        let mean = intervalSum / Double(intervalCount)
        forwardSum += mean * dvdt
        forwardEvidence += 1
        guard forwardEvidence >= 6 else { return }
        let f = forwardSum - (forwardSum * up).sum() * up
        let n = (f * f).sum().squareRoot()
        guard n > 1e-6 else { return }
        let fwd = f / n
        forward = fwd
        // left = up × forward
        lateral = SIMD3(
            up.y * fwd.z - up.z * fwd.y,
            up.z * fwd.x - up.x * fwd.z,
            up.x * fwd.y - up.y * fwd.x)
    }
}
