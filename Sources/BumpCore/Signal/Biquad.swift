import RealModule

/// A second-order IIR section (transposed direct form II), designed from the sample rate.
///
/// Coefficients follow the RBJ audio-EQ cookbook. Designs clamp the corner frequency below
/// Nyquist so the same code is valid from 5 Hz to 400 Hz sampling.
public struct Biquad: Sendable {
    private var b0: Double, b1: Double, b2: Double, a1: Double, a2: Double
    private var z1 = 0.0, z2 = 0.0

    private init(b0: Double, b1: Double, b2: Double, a0: Double, a1: Double, a2: Double) {
        self.b0 = b0 / a0
        self.b1 = b1 / a0
        self.b2 = b2 / a0
        self.a1 = a1 / a0
        self.a2 = a2 / a0
    }

    /// Butterworth-Q (0.7071) low-pass at `cutoff` Hz for a stream sampled at `rate` Hz.
    public static func lowPass(cutoff: Double, rate: Double, q: Double = 0.5.squareRoot()) -> Biquad {
        let w = omega(cutoff, rate), alpha = Double.sin(w) / (2 * q), c = Double.cos(w)
        return Biquad(b0: (1 - c) / 2, b1: 1 - c, b2: (1 - c) / 2, a0: 1 + alpha, a1: -2 * c, a2: 1 - alpha)
    }

    /// Butterworth-Q high-pass at `cutoff` Hz.
    public static func highPass(cutoff: Double, rate: Double, q: Double = 0.5.squareRoot()) -> Biquad {
        let w = omega(cutoff, rate), alpha = Double.sin(w) / (2 * q), c = Double.cos(w)
        return Biquad(b0: (1 + c) / 2, b1: -(1 + c), b2: (1 + c) / 2, a0: 1 + alpha, a1: -2 * c, a2: 1 - alpha)
    }

    /// The angular frequency, with the corner kept strictly inside (0, Nyquist).
    private static func omega(_ cutoff: Double, _ rate: Double) -> Double {
        let f = min(max(cutoff, rate * 1e-4), rate * 0.45)
        return 2 * Double.pi * f / rate
    }

    /// Filters one sample.
    @inline(__always)
    public mutating func step(_ x: Double) -> Double {
        let y = b0 * x + z1
        z1 = b1 * x - a1 * y + z2
        z2 = b2 * x - a2 * y
        return y
    }

    /// Sets the state as if the input had been `x` forever, so a filter starts without a transient.
    public mutating func prime(_ x: Double) {
        // Steady state of TDF-II for constant input x with DC gain g = (b0+b1+b2)/(1+a1+a2).
        let g = (b0 + b1 + b2) / (1 + a1 + a2)
        let y = g * x
        z2 = b2 * x - a2 * y
        z1 = y - b0 * x
    }
}

/// A first-order exponential smoother with a time constant, for slow trends (gravity, noise floor).
public struct OnePole: Sendable {
    private let alpha: Double
    public private(set) var value: Double

    /// `tau` seconds time constant at `rate` Hz.
    public init(tau: Double, rate: Double, initial: Double = 0) {
        alpha = 1 - Double.exp(-1 / (tau * rate))
        value = initial
    }

    @inline(__always)
    public mutating func step(_ x: Double) -> Double {
        value += alpha * (x - value)
        return value
    }

    public mutating func reset(_ x: Double) { value = x }
}
