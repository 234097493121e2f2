// Decimal number parsing straight from bytes, for the trace readers' hot loops.
//
// Grammar: [+|-] digits [. digits] [(e|E) [+|-] digits], with at least one digit before
// the exponent (".5" and "5." are fine), or the literal NaN in any case. Nothing else:
// no spaces, no "inf", no hex. The common case (up to 19 significant digits, mantissa
// below 2^53, decimal exponent within ±22) is computed exactly with one IEEE operation on
// two exact values (Clinger's fast path); anything else goes to the standard library,
// which rounds correctly but allocates a String.

/// Parses the whole of `count` bytes at `p` as a decimal number.
///
/// Returns `.nan` for `NaN`/`nan`, `nil` for anything that is not a number in the grammar
/// above (empty, embedded spaces, `1.2.3`, `abc`, `inf`). Values too large for a Double
/// come back as ±infinity, like `Double(String)`. The caller trims surrounding spaces.
public func parseDecimal(_ p: UnsafePointer<UInt8>, _ count: Int) -> Double? {
    guard count > 0 else { return nil }
    // scanDecimal needs a terminator after the text; copy into a buffer that has one.
    let parsed = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count + 1) { buffer -> Double? in
        let copy = buffer.baseAddress!
        copy.initialize(from: p, count: count)
        copy[count] = 0
        guard let (value, stop) = scanDecimal(copy), stop == copy + count else { return nil }
        return value
    }
    if let parsed { return parsed }
    if count == 3, p[0] | 0x20 == UInt8(ascii: "n"), p[1] | 0x20 == UInt8(ascii: "a"),
        p[2] | 0x20 == UInt8(ascii: "n")
    {
        return .nan
    }
    return nil
}

/// Parses the number at `start` and returns it with the position just after it, or nil
/// when no number starts there or its exponent is malformed ("1e").
///
/// The text must be followed by a byte that cannot continue a number, such as the "\n"
/// that ends every line the readers pass on: the loops need no bounds checks that way.
/// The caller decides whether the byte at the returned position may follow a number.
@inline(__always)
func scanDecimal(_ start: UnsafePointer<UInt8>) -> (value: Double, end: UnsafePointer<UInt8>)? {
    scanDecimal(start, decimalPoint: UInt8(ascii: "."))
}

/// `scanDecimal` for locales that may write the decimal point as `decimalPoint` (a comma in
/// files separated by semicolons or tabs); "." is accepted as well.
@inline(__always)
func scanDecimal(_ start: UnsafePointer<UInt8>, decimalPoint: UInt8) -> (value: Double, end: UnsafePointer<UInt8>)? {
    // Signs are random in sensor data, so handle them without branches.
    let negative = start.pointee == UInt8(ascii: "-")
    var p = start + (negative || start.pointee == UInt8(ascii: "+") ? 1 : 0)
    let signBit: UInt64 = negative ? 1 << 63 : 0
    // Integer and fraction digits accumulate separately: two short dependency chains the
    // CPU can run side by side instead of one long one. Past 19 digits they may wrap, which
    // is fine because then the slow path recomputes from the text.
    let (integerPart, integerDigits) = scanDigits(p)
    p += integerDigits
    var digits = integerDigits
    var fractionPart: UInt64 = 0
    var fractionDigits = 0
    if p.pointee == UInt8(ascii: ".") || p.pointee == decimalPoint {
        p += 1
        (fractionPart, fractionDigits) = scanDigits(p)
        p += fractionDigits
        digits &+= fractionDigits
    }
    guard digits > 0 else { return nil }
    var exponent = -fractionDigits
    if p.pointee | 0x20 == UInt8(ascii: "e") {
        var q = p + 1
        let negativeExponent = q.pointee == UInt8(ascii: "-")
        if negativeExponent || q.pointee == UInt8(ascii: "+") { q += 1 }
        guard q.pointee &- UInt8(ascii: "0") <= 9 else { return nil }
        var e = 0
        while true {
            let d = q.pointee &- UInt8(ascii: "0")
            if d > 9 { break }
            // Saturate: anything this large is 0 or infinity anyway.
            if e < 100_000 { e = e &* 10 &+ Int(d) }
            q += 1
        }
        exponent += negativeExponent ? -e : e
        p = q
    }

    if digits <= 19 {
        let mantissa = integerPart &* integerPowersOfTen[fractionDigits] &+ fractionPart
        if mantissa == 0 { return (Double(bitPattern: signBit), p) }
        var value: Double? = nil
        if mantissa <= 1 << 53 {
            // Clinger's fast path: both operands exact, so the one rounding is correct.
            if exponent == 0 {
                value = Double(mantissa)
            } else if exponent > 0, exponent <= 22 {
                value = Double(mantissa) * exactPowersOfTen[exponent]
            } else if exponent < 0, exponent >= -22 {
                value = Double(mantissa) / exactPowersOfTen[-exponent]
            }
        } else if exponent == 0 {
            // Integer-to-double conversion rounds correctly on its own (nanosecond stamps).
            value = Double(mantissa)
        }
        // value ≥ 0, so setting the sign bit negates it.
        if let value { return (Double(bitPattern: value.bitPattern | signBit), p) }
    }
    guard let value = parseDecimalSlow(start, p - start, decimalPoint: decimalPoint) else { return nil }
    return (value, p)
}

/// The value of the decimal digits at `p` (wrapping past 19 digits) and how many there are.
/// Relies on a non-digit terminator like `scanDecimal`.
@inline(__always)
fileprivate func scanDigits(_ p: UnsafePointer<UInt8>) -> (value: UInt64, count: Int) {
    // Two digits per step: half the loop overhead and a shorter multiply-add chain. Reading
    // p[i + 1] is safe because p[i] was a digit, so the terminator is at p[i + 1] or later.
    var value: UInt64 = 0
    var i = 0
    while true {
        let d0 = p[i] &- UInt8(ascii: "0")
        if d0 > 9 { return (value, i) }
        let d1 = p[i &+ 1] &- UInt8(ascii: "0")
        if d1 > 9 { return (value &* 10 &+ UInt64(d0), i &+ 1) }
        value = value &* 100 &+ UInt64(d0 &* 10 &+ d1)
        i &+= 2
    }
}

/// 10^n for 0 ≤ n ≤ 19 (all that fit in a UInt64).
fileprivate let integerPowersOfTen: [UInt64] = [
    1, 10, 100, 1000, 10000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000,
    100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000,
    10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
]

/// 10^e for 0 ≤ e ≤ 22, the powers of ten a Double holds exactly. Tables rather than
/// switches: a switch becomes an indirect jump that mispredicts as field widths vary.
fileprivate let exactPowersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

/// The correctly rounded value of text the fast path cannot do exactly (rare).
@inline(never)
fileprivate func parseDecimalSlow(_ p: UnsafePointer<UInt8>, _ count: Int, decimalPoint: UInt8) -> Double? {
    let bytes = UnsafeBufferPointer(start: p, count: count).map { $0 == decimalPoint ? UInt8(ascii: ".") : $0 }
    return Double(String(decoding: bytes, as: UTF8.self))
}
