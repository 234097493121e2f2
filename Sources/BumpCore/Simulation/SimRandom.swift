import RealModule

/// Deterministic random numbers (xoshiro256**, seeded by SplitMix64) so a seed gives the same
/// city, trips and samples on every machine and Swift version.
public struct SimRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    private var spareGaussian: Double?

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix()
        s1 = splitMix()
        s2 = splitMix()
        s3 = splitMix()
    }

    /// An independent stream derived from this seed and a label (trip number, feature set ...).
    public static func derived(seed: UInt64, stream: UInt64) -> SimRandom {
        SimRandom(seed: seed &* 0x2545_F491_4F6C_DD1D &+ stream &* 0x9E37_79B9_7F4A_7C15 &+ 1)
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [a, b).
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * unit() }

    /// True with probability p.
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Normal(mean, sd) by Box-Muller.
    public mutating func gaussian(_ mean: Double = 0, _ sd: Double = 1) -> Double {
        if let g = spareGaussian {
            spareGaussian = nil
            return mean + sd * g
        }
        var u = unit()
        while u <= .leastNormalMagnitude { u = unit() }
        let r = (-2 * Double.log(u)).squareRoot(), phi = 2 * Double.pi * unit()
        spareGaussian = r * Double.sin(phi)
        return mean + sd * r * Double.cos(phi)
    }

    /// Uniform integer in 0..<n.
    public mutating func index(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
