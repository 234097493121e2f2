import Testing

@testable import BumpCore


private func parse(_ text: String) -> Double? {
    var bytes = Array(text.utf8)
    // Digits after the field must not be read: parse from the front of a longer buffer.
    let count = bytes.count
    bytes.append(contentsOf: Array("98765432109876543210".utf8))
    return bytes.withUnsafeBufferPointer { parseDecimal($0.baseAddress!, count) }
}

/// Same value bit for bit (so -0.0 and 0.0 differ, and any NaN equals any NaN).
private func sameDouble(_ a: Double?, _ b: Double?) -> Bool {
    switch (a, b) {
    case (nil, nil): true
    case let (x?, y?): x.isNaN ? y.isNaN : x.bitPattern == y.bitPattern
    default: false
    }
}

@Suite struct NumberParsingTests {
    @Test(arguments: [
        "0", "-0", "+0", "1", "-1", "+1", "0.1", "-0.1", ".5", "-.5", "5.", "00000001.5000",
        "1e10", "1E10", "1e+10", "1e-10", "-2.5E-3", "1e22", "1e23", "1e-22", "1e-23", "123e-22",
        "9007199254740991", "9007199254740992", "9007199254740993", "9007199254740993.0",
        "18446744073709551615", "18446744073709551616", "1234567890123456789", "12345678901234567890",
        "123456789012345678901234567890", "0.000000000000000000000000001", "0.30000000000000004",
        "1.7976931348623157e308", "1.7976931348623159e308", "4.9e-324", "2.4703282292062327e-324",
        "2.2250738585072014e-308", "1e400", "-1e400", "1e-400", "0e999999", "1e99999999999",
        "1717171717123.5", "1717171717200", "1717171717.123", "1717171717123456", "1717171717123456789",
        "0.123456", "-9.654321", "1.234567", "42.3601234", "-71.0589876", "12.34", "4.5", "0.01",
        "3.14159265358979323846264338327950288", "99999999999999999999e-20", "1.5000000000000000000000",
    ])
    func agreesWithStandardLibrary(_ text: String) {
        #expect(sameDouble(parse(text), Double(text)), "\(text)")
    }

    @Test func randomDecimalsAgreeWithStandardLibrary() {
        var rng = SimRandom(seed: 0x5EED)
        let digits = Array("0123456789")
        for _ in 0..<200_000 {
            var text = Bool.random(using: &rng) ? "-" : ""
            let intDigits = Int.random(in: 0...20, using: &rng)
            let fracDigits = Int.random(in: 0...20, using: &rng)
            for _ in 0..<intDigits { text.append(digits.randomElement(using: &rng)!) }
            if fracDigits > 0 || intDigits == 0 {
                text.append(".")
                for _ in 0..<max(fracDigits, 1) { text.append(digits.randomElement(using: &rng)!) }
            }
            if Int.random(in: 0..<4, using: &rng) == 0 {
                text.append(Bool.random(using: &rng) ? "e" : "E")
                text.append(["", "+", "-"].randomElement(using: &rng)!)
                text.append(String(Int.random(in: 0...330, using: &rng)))
            }
            guard sameDouble(parse(text), Double(text)) else {
                Issue.record("mismatch for \(text): \(String(describing: parse(text))) vs \(String(describing: Double(text)))")
                return
            }
        }
    }

    @Test func randomDoublesRoundTrip() {
        var rng = SimRandom(seed: 42)
        for _ in 0..<100_000 {
            let value = Double(bitPattern: rng.next())
            guard value.isFinite else { continue }
            let text = value.description
            guard sameDouble(parse(text), value) else {
                Issue.record("\(text) parsed as \(String(describing: parse(text)))")
                return
            }
        }
        for _ in 0..<100_000 {
            // Typical sensor values: few digits, small exponents (the fast path).
            let value = Double.random(in: -200...200, using: &rng)
            let text = value.description
            #expect(sameDouble(parse(text), value), "\(text)")
        }
    }

    @Test(arguments: ["NaN", "nan", "NAN", "nAn"])
    func acceptsNaN(_ text: String) {
        #expect(parse(text)?.isNaN == true)
    }

    @Test(arguments: [
        "", " ", " 1", "1 ", "1 2", "1.2.3", "abc", "inf", "-inf", "Infinity", "-", "+", ".", "-.", "e5", "1e",
        "1e+", "1e-", "--1", "+-1", "0x10", "1,5", "1.5x", "nan1", "-nan", "1e5.5", "١٢", "1_000",
    ])
    func rejects(_ text: String) {
        #expect(parse(text) == nil, "\(text)")
    }

    @Test func scanStopsAtFirstNonNumberByte() {
        let bytes = Array("-12.5e3,7".utf8)
        bytes.withUnsafeBufferPointer { b in
            let base = b.baseAddress!
            let result = scanDecimal(base)
            #expect(result?.value == -12500)
            #expect(result.map { $0.end - base } == 7)
        }
    }

    @Test func scanDigitsHandlesEveryLengthAroundTheWordSize() {
        for length in 1...24 {
            let text = String((0..<length).map { Character(String(($0 * 7 + 3) % 10)) })
            #expect(sameDouble(parse(text), Double(text)), "\(text)")
            #expect(sameDouble(parse("0." + text), Double("0." + text)), "0.\(text)")
        }
    }
}

@Suite struct TimeUnitTests {
    @Test func guessesByMagnitude() {
        #expect(TimeUnit(guessingFrom: 0.01) == .seconds)
        #expect(TimeUnit(guessingFrom: 1_717_171_717.5) == .seconds)
        #expect(TimeUnit(guessingFrom: 1_717_171_717_123) == .milliseconds)
        #expect(TimeUnit(guessingFrom: 1_717_171_717_123_456) == .microseconds)
        #expect(TimeUnit(guessingFrom: 1.717_171_717_123_456e18) == .nanoseconds)
        #expect(TimeUnit(guessingFrom: -1e12) == .milliseconds)
    }

    @Test func convertsToMilliseconds() {
        #expect(TimeUnit.seconds.milliseconds(1.5) == 1500)
        #expect(TimeUnit.milliseconds.milliseconds(1.5) == 1.5)
        #expect(TimeUnit.microseconds.milliseconds(1500) == 1.5)
        #expect(TimeUnit.nanoseconds.milliseconds(1_500_000) == 1.5)
    }
}
