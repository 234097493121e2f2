/// Epoch-millisecond times as ISO 8601 (UTC), without Foundation.
public enum Timestamp {
    /// "2026-05-28T20:26:40.123Z".
    public static func iso(_ ms: Double) -> String {
        guard ms.isFinite else { return "" }
        let total = Int64(ms.rounded(.down))
        let days = total >= 0 ? total / 86_400_000 : (total - 86_399_999) / 86_400_000
        let inDay = total - days * 86_400_000
        let (y, m, d) = civil(days: Int(days))
        func two<I: BinaryInteger>(_ v: I) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let msPart = inDay % 1000
        let msText = msPart < 10 ? "00\(msPart)" : msPart < 100 ? "0\(msPart)" : "\(msPart)"
        return "\(y)-\(two(m))-\(two(d))T\(two(inDay / 3_600_000)):\(two(inDay / 60_000 % 60)):\(two(inDay / 1000 % 60)).\(msText)Z"
    }

    /// Year, month and day of `days` since 1970-01-01 (Howard Hinnant's civil_from_days).
    public static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
