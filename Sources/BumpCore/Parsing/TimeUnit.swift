/// The unit a source writes its timestamps in, guessed from their magnitude.
///
/// Phones and loggers write epoch time in s, ms, µs or ns, or seconds since the start of the
/// recording. Present-day epoch values differ by a factor of 1000 between units, so one
/// timestamp tells them apart; relative times (small numbers) are taken as seconds.
public enum TimeUnit: Sendable, Equatable, CaseIterable {
    case seconds, milliseconds, microseconds, nanoseconds

    /// Guesses the unit from one timestamp: |t| ≥ 1e17 ns, ≥ 1e14 µs, ≥ 1e11 ms, else s.
    ///
    /// 1e11 ms is 1973 and 1e11 s is the year 5138, so epoch values of any unit since the
    /// 1970s land in the right band.
    public init(guessingFrom t: Double) {
        let magnitude = t.magnitude
        if magnitude >= 1e17 {
            self = .nanoseconds
        } else if magnitude >= 1e14 {
            self = .microseconds
        } else if magnitude >= 1e11 {
            self = .milliseconds
        } else {
            self = .seconds
        }
    }

    /// Converts a timestamp in this unit to milliseconds.
    @inlinable
    public func milliseconds(_ t: Double) -> Double {
        switch self {
        case .seconds: t * 1000
        case .milliseconds: t
        case .microseconds: t / 1000
        case .nanoseconds: t / 1_000_000
        }
    }

    /// t ms = t × multiplier ÷ divisor. Dividing rather than multiplying by 1e-3 or 1e-6
    /// (not exact in binary) keeps the result correctly rounded; ×1 and ÷1 are exact.
    /// Readers keep these two numbers, so the per-row conversion needs no switch.
    @inlinable
    public var millisecondFactors: (multiplier: Double, divisor: Double) {
        switch self {
        case .seconds: (1000, 1)
        case .milliseconds: (1, 1)
        case .microseconds: (1, 1000)
        case .nanoseconds: (1, 1_000_000)
        }
    }
}
