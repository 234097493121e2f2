/// Writes rows in the canonical formats (DESIGN.md 4.1, 4.2) into a byte buffer, with fixed
/// decimals and no Foundation, fast enough to generate benchmark sets of gigabytes.
public enum TraceWriter {
    /// The canonical CSV header line.
    public static let csvHeader = "t,ax,ay,az,lat,lon,speed,accuracy\n"

    /// Appends one canonical CSV row.
    public static func appendCSV(_ r: TraceRow, to out: inout [UInt8]) {
        appendFixed(r.t, places: 1, to: &out)
        @inline(__always) func field(_ v: Double, _ places: Int) {
            out.append(UInt8(ascii: ","))
            if !v.isNaN { appendFixed(v, places: places, to: &out) }
        }
        field(r.ax, 4)
        field(r.ay, 4)
        field(r.az, 4)
        field(r.lat, 7)
        field(r.lon, 7)
        field(r.speed, 2)
        field(r.accuracy, 1)
        out.append(UInt8(ascii: "\n"))
    }

    /// Appends one NDJSON line; absent values are left out.
    public static func appendNDJSON(_ r: TraceRow, trip: String, device: String?, to out: inout [UInt8]) {
        out.append(contentsOf: "{\"trip\":".utf8)
        appendJSONString(trip, to: &out)
        if let device {
            out.append(contentsOf: ",\"device\":".utf8)
            appendJSONString(device, to: &out)
        }
        out.append(contentsOf: ",\"t\":".utf8)
        appendFixed(r.t, places: 1, to: &out)
        @inline(__always) func field(_ key: StaticString, _ v: Double, _ places: Int) {
            guard !v.isNaN else { return }
            key.withUTF8Buffer { out.append(contentsOf: $0) }
            appendFixed(v, places: places, to: &out)
        }
        field(",\"ax\":", r.ax, 4)
        field(",\"ay\":", r.ay, 4)
        field(",\"az\":", r.az, 4)
        field(",\"lat\":", r.lat, 7)
        field(",\"lon\":", r.lon, 7)
        field(",\"speed\":", r.speed, 2)
        field(",\"accuracy\":", r.accuracy, 1)
        out.append(contentsOf: "}\n".utf8)
    }

    /// Appends a JSON string literal with the escapes RFC 8259 requires.
    public static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case UInt8(ascii: "\n"): out.append(contentsOf: [92, UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [92, UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `v` with exactly `places` decimals (trailing zeros trimmed), rounding half away from zero.
    public static func appendFixed(_ v: Double, places: Int, to out: inout [UInt8]) {
        guard v.isFinite else {
            out.append(contentsOf: Array("NaN".utf8))
            return
        }
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let magnitude = abs(v) * Double(scale)
        guard magnitude < 9e18 else {
            out.append(contentsOf: Array("\(v)".utf8))
            return
        }
        let scaled = UInt64(magnitude.rounded())
        if v < 0 && scaled != 0 { out.append(UInt8(ascii: "-")) }
        appendInteger(scaled / scale, to: &out)
        var fraction = scaled % scale
        var digits = places
        while digits > 0 && fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        guard digits > 0 else { return }
        out.append(UInt8(ascii: "."))
        var buffer: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (48, 48, 48, 48, 48, 48, 48, 48, 48, 48)
        withUnsafeMutableBytes(of: &buffer) { b in
            var f = fraction
            for i in stride(from: digits - 1, through: 0, by: -1) {
                b[i] = UInt8(48 + f % 10)
                f /= 10
            }
            out.append(contentsOf: b[0..<digits])
        }
    }

    /// `v` with `places` decimals as text (see `appendFixed`); empty when not finite.
    public static func fixed(_ v: Double, places: Int) -> String {
        guard v.isFinite else { return "" }
        var out: [UInt8] = []
        appendFixed(v, places: places, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `s` as a JSON string literal.
    public static func jsonString(_ s: String) -> String {
        var out: [UInt8] = []
        appendJSONString(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendInteger(_ n: UInt64, to out: inout [UInt8]) {
        if n < 10 {
            out.append(UInt8(48 + n))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { b in
            var i = 20, x = n
            while x > 0 {
                i -= 1
                b[i] = UInt8(48 + x % 10)
                x /= 10
            }
            out.append(contentsOf: b[i..<20])
        }
    }
}
