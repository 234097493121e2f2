// Wall-clock and calendar times straight from bytes: `HH:MM:SS:ffff` (Physics Toolbox),
// `YYYY-MM-DD HH:MM:SS.fff`, and ISO 8601 (`2024-05-01T12:03:45.5Z`, GPX).

/// A time read from text: milliseconds since the Unix epoch when a date was given, else since
/// midnight of an unknown day.
struct ParsedClockTime: Equatable {
    var milliseconds: Double
    var hasDate: Bool
}

/// Parses `[YYYY-MM-DD(T| )]HH:MM:SS[(.|:|,)fraction][Z|±HH:MM]` filling all `count` bytes.
///
/// The fraction is a decimal fraction of a second whatever its length (`45:1234` is 45.1234 s).
/// Dates are UTC unless an offset follows. Nil for anything else.
func parseClockTime(_ p: UnsafePointer<UInt8>, _ count: Int) -> ParsedClockTime? {
    var i = 0
    @inline(__always) func digits(_ n: Int) -> Int? {
        guard i + n <= count else { return nil }
        var v = 0
        for k in 0..<n {
            let d = p[i + k] &- UInt8(ascii: "0")
            guard d <= 9 else { return nil }
            v = v * 10 + Int(d)
        }
        i += n
        return v
    }
    @inline(__always) func expect(_ c: UInt8) -> Bool {
        guard i < count, p[i] == c else { return false }
        i += 1
        return true
    }
    var dayStart = 0.0
    var hasDate = false
    if count >= 10, p[4] == UInt8(ascii: "-") {
        guard let year = digits(4), expect(UInt8(ascii: "-")), let month = digits(2), expect(UInt8(ascii: "-")),
            let day = digits(2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        guard i < count, p[i] == UInt8(ascii: "T") || p[i] == UInt8(ascii: " ") else { return nil }
        i += 1
        dayStart = Double(daysFromCivil(year: year, month: month, day: day)) * 86_400_000
        hasDate = true
    }
    // Hours may have one digit ("9:05:03") in some locales.
    var hour: Int
    if i + 1 < count, p[i + 1] == UInt8(ascii: ":") {
        guard let h = digits(1) else { return nil }
        hour = h
    } else {
        guard let h = digits(2) else { return nil }
        hour = h
    }
    guard expect(UInt8(ascii: ":")), let minute = digits(2), expect(UInt8(ascii: ":")), let second = digits(2),
        hour < 24, minute < 60, second <= 60
    else { return nil }
    var ms = Double(hour * 3_600_000 + minute * 60_000 + second * 1000)
    if i < count, p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: ":") || p[i] == UInt8(ascii: ",") {
        i += 1
        var fraction = 0.0
        var scale = 100.0
        let start = i
        while i < count, case let d = p[i] &- UInt8(ascii: "0"), d <= 9 {
            fraction += Double(d) * scale
            scale /= 10
            i += 1
        }
        guard i > start else { return nil }
        ms += fraction
    }
    if hasDate, i < count {
        if p[i] == UInt8(ascii: "Z") {
            i += 1
        } else if p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") {
            let sign = p[i] == UInt8(ascii: "-") ? -1.0 : 1.0
            i += 1
            guard let oh = digits(2) else { return nil }
            _ = expect(UInt8(ascii: ":"))
            guard let om = digits(2) else { return nil }
            // Local time = UTC + offset, so UTC = local - offset.
            ms -= sign * Double(oh * 3_600_000 + om * 60_000)
        }
    }
    guard i == count else { return nil }
    return ParsedClockTime(milliseconds: dayStart + ms, hasDate: hasDate)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}
