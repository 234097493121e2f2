/// Guesses what caused one event from its shape alone. The cluster classifier, which sees
/// every trip that passed the spot, has the final word; this is the per-trip opinion.
///
/// What the field learned, encoded as evidence:
/// - full-width features (humps, rails, joints) hit both wheels: little roll, low lateral/vertical;
/// - a speed hump is a long heave (metres along the road) that dominates the jolt;
/// - a rail crossing is a pair of sharp jolts about one track gauge (1.435 m) apart;
/// - a pothole is one-sided and strikes hard for the speed (the wheel drops, then hits the
///   far edge; the dip-first signature is recorded but too phase-sensitive to decide on);
/// - a sunken casting is one-sided but shallow: a small jolt for the speed.
public enum EventClassifier {
    /// Kind and confidence (0...1) for an event's features.
    public static func classify(_ e: BumpEvent) -> (kind: BumpKind, confidence: Double) {
        let speed = e.speed.isNaN ? 8 : max(e.speed, 1)
        // How one-sided: roll makes lateral a sizeable share of vertical.
        let oneSided = e.lateralKnown ? ramp(e.lateralRatio, 0.3, 0.5) : ramp(e.lateralRatio, 0.4, 0.7)
        let fullWidth = 1 - oneSided
        // Strength for the speed: potholes strike harder than covers at the same speed.
        let strength = e.peak / (0.8 + 0.12 * speed)

        // A hump lifts the whole body over metres: heave dominates the jolt.
        let hump = ramp(e.swell / max(e.peak, 0.1), 0.8, 1.3) * ramp(e.wavelength, 2.5, 3.5) * (1 - 0.5 * oneSided)
        let gauge = e.joltSpacing.isNaN ? 0 : bump(e.joltSpacing, 1.3, 0.6)
        let rail = fullWidth * (e.jolts >= 2 ? max(gauge, e.jolts >= 3 ? 0.5 : 0) : 0) * (1 - hump)
        let hard = ramp(strength, 1.7, 2.3)
        let pothole = oneSided * hard * (1 - hump)
        let casting = oneSided * (1 - hard) * (1 - hump)
        let scores: [(BumpKind, Double)] = [(.speedHump, hump), (.railCrossing, rail), (.pothole, pothole), (.casting, casting)]

        let best = scores.max { $0.1 < $1.1 }!
        if best.1 < 0.25 { return (.other, 1 - best.1) }
        // Confidence: the winner's score, discounted by how close the runner-up came.
        let runnerUp = scores.filter { $0.0 != best.0 }.map(\.1).max() ?? 0
        return (best.0, min(1, best.1) * (1 - 0.5 * runnerUp / best.1))
    }

    /// 0 below `lo`, 1 above `hi`, linear between.
    @inline(__always) static func ramp(_ x: Double, _ lo: Double, _ hi: Double) -> Double {
        x.isNaN ? 0 : min(1, max(0, (x - lo) / (hi - lo)))
    }

    /// 1 at `center`, falling to 0 at `center ± width`.
    @inline(__always) static func bump(_ x: Double, _ center: Double, _ width: Double) -> Double {
        max(0, 1 - abs(x - center) / width)
    }
}
