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

/// `scanDecimal` for a caller that knows every byte before `readableEnd` may be read (the end
/// of its buffer). Where 16 bytes can be read, the usual sensor value (up to 15 digits, no
/// exponent: "-9.8066", "1717171717123.5") is read eight bytes at a time, inline; the rest
/// goes to the general scan.
@inline(always)
func scanDecimal(_ start: UnsafePointer<UInt8>, readableEnd: UnsafePointer<UInt8>) -> (value: Double, end: UnsafePointer<UInt8>)? {
    let negative = start.pointee == UInt8(ascii: "-")
    let p = start + (negative || start.pointee == UInt8(ascii: "+") ? 1 : 0)
    if readableEnd - p >= 16, let (mantissa, fractionDigits, length) = scanShortDecimal(p) {
        // At most 15 digits (below 2^53) and 6 fraction digits: both operands exact, so the
        // one rounding is correct (Clinger), the same value the general scan computes.
        let value = fractionDigits == 0 ? Double(mantissa) : Double(mantissa) / exactPowersOfTen[fractionDigits]
        // value ≥ 0, so setting the sign bit negates it (and makes "-0" -0.0).
        return (Double(bitPattern: value.bitPattern | (negative ? 1 << 63 : 0)), p + length)
    }
    return scanDecimal(start, decimalPoint: UInt8(ascii: "."))
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

/// An unsigned number without exponent of at most 15 digits that ends within the 16 bytes at
/// `p` (all readable), of which the first eight must be digits if it goes past them: its
/// digits as one integer, how many of them follow the point, and its length. Nil for
/// anything else, which the general scan handles.
@inline(always)
fileprivate func scanShortDecimal(_ p: UnsafePointer<UInt8>) -> (mantissa: UInt64, fractionDigits: Int, length: Int)? {
    let first = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
    if nonDigitFlags(first) != 0 {
        guard let (mantissa, digits, fractionDigits, length) = scanWordDecimal(first), digits > 0 else { return nil }
        return (mantissa, fractionDigits, length)
    }
    // Eight integer digits (time stamps): the rest must end in the next word.
    let second = UInt64(littleEndian: UnsafeRawPointer(p + 8).loadUnaligned(as: UInt64.self))
    guard let (low, digits, fractionDigits, length) = scanWordDecimal(second) else { return nil }
    let high = valueOfLeadingDigits(digitValues(first), 8)
    return (high &* integerPowersOfTen[digits] &+ low, fractionDigits, 8 &+ length)
}

/// The digits, an optional point and more digits at the start of `word` (first byte lowest),
/// when they end within it and no exponent follows: their value, how many digits, how many
/// after the point, and the length in bytes. Nil otherwise.
@inline(always)
fileprivate func scanWordDecimal(_ word: UInt64) -> (mantissa: UInt64, digits: Int, fractionDigits: Int, length: Int)? {
    let flags = nonDigitFlags(word)
    let integerDigits = flags.trailingZeroBitCount &>> 3
    guard integerDigits < 8 else { return nil }
    var values = digitValues(word)
    var length = integerDigits
    var fractionDigits = 0
    if UInt8(truncatingIfNeeded: word &>> UInt64(8 &* integerDigits)) == UInt8(ascii: ".") {
        // The fraction ends at the next non-digit after the point.
        length = (flags ^ (0x80 &<< UInt64(8 &* integerDigits))).trailingZeroBitCount &>> 3
        guard length < 8 else { return nil }
        fractionDigits = length &- integerDigits &- 1
        // Close the gap: the fraction digits move down a byte, next to the integer digits.
        let integerBytes: UInt64 = (1 &<< UInt64(8 &* integerDigits)) &- 1
        values = (values & integerBytes) | ((values &>> 8) & ~integerBytes)
    }
    guard UInt8(truncatingIfNeeded: word &>> UInt64(8 &* length)) | 0x20 != UInt8(ascii: "e") else { return nil }
    let digits = integerDigits &+ fractionDigits
    return (digits == 0 ? 0 : valueOfLeadingDigits(values, digits), digits, fractionDigits, length)
}

/// The top bit of each byte of `word` set where it is not an ASCII digit.
@inline(always)
fileprivate func nonDigitFlags(_ word: UInt64) -> UInt64 {
    // Digits become 0...9 after the xor; adding 0x76 to the low seven bits sets the top bit
    // from 10 up, and the or keeps the bytes that had it. No carry crosses a byte, so each
    // byte is judged on its own (a subtraction would borrow across the decimal point).
    let x = digitValues(word)
    return (((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080
}

/// ASCII digits to their values 0...9, byte by byte (other bytes become something else).
@inline(always)
fileprivate func digitValues(_ word: UInt64) -> UInt64 { word ^ 0x3030_3030_3030_3030 }

/// The number the first `n` bytes of `values` spell (1 ≤ n ≤ 8), bytes holding digit values
/// 0...9 and the first byte the most significant. The bytes after them are ignored.
@inline(always)
fileprivate func valueOfLeadingDigits(_ values: UInt64, _ n: Int) -> UInt64 {
    // Shift the n digits to the top, so the bytes below read as leading zeros, then combine
    // neighbours: pairs, then pairs of pairs (Lemire's eight-digit method).
    let top = values &<< UInt64(64 &- 8 &* n)
    let pairs = top &* 10 &+ (top &>> 8)
    let mask: UInt64 = 0x0000_00FF_0000_00FF
    return ((pairs & mask) &* 0x000F_4240_0000_0064 &+ ((pairs &>> 16) & mask) &* 0x0000_2710_0000_0001) &>> 32
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
