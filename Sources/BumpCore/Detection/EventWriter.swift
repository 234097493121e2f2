/// Formats events for `detect` output: CSV (DESIGN.md 4.3 columns first) or JSON lines.
public enum EventWriter {
    public static let csvHeader = "trip,t,lat,lon,speed,peak,kind,confidence,accuracy,heading,swell,duration,lateral_ratio,signature,jolts,jolt_spacing,wavelength,dip_to_strike\n"

    public static func appendCSV(_ e: BumpEvent, trip: String, to out: inout [UInt8]) {
        out.append(contentsOf: csvField(trip).utf8)
        func num(_ v: Double, _ places: Int) {
            out.append(UInt8(ascii: ","))
            if v.isFinite { TraceWriter.appendFixed(v, places: places, to: &out) }
        }
        num(e.t, 1)
        num(e.lat, 7)
        num(e.lon, 7)
        num(e.speed, 2)
        num(e.peak, 3)
        out.append(contentsOf: ",\(e.kind.rawValue)".utf8)
        num(e.confidence, 3)
        num(e.accuracy, 1)
        num(e.heading, 1)
        num(e.swell, 3)
        num(e.duration, 3)
        num(e.lateralRatio, 3)
        out.append(contentsOf: ",\(e.signature.rawValue),\(e.jolts)".utf8)
        num(e.joltSpacing, 2)
        num(e.wavelength, 2)
        num(e.dipToStrike, 2)
        out.append(UInt8(ascii: "\n"))
    }

    public static func appendJSON(_ e: BumpEvent, trip: String, to out: inout [UInt8]) {
        out.append(contentsOf: "{\"trip\":".utf8)
        TraceWriter.appendJSONString(trip, to: &out)
        func num(_ key: String, _ v: Double, _ places: Int) {
            out.append(contentsOf: ",\"\(key)\":".utf8)
            if v.isFinite { TraceWriter.appendFixed(v, places: places, to: &out) } else { out.append(contentsOf: "null".utf8) }
        }
        num("t", e.t, 1)
        num("lat", e.lat, 7)
        num("lon", e.lon, 7)
        num("speed", e.speed, 2)
        num("peak", e.peak, 3)
        out.append(contentsOf: ",\"kind\":\"\(e.kind.rawValue)\"".utf8)
        num("confidence", e.confidence, 3)
        num("accuracy", e.accuracy, 1)
        num("heading", e.heading, 1)
        num("peak_up", e.peakUp, 3)
        num("peak_down", e.peakDown, 3)
        num("swell", e.swell, 3)
        num("duration", e.duration, 3)
        num("lateral_ratio", e.lateralRatio, 3)
        out.append(contentsOf: ",\"lateral_known\":\(e.lateralKnown),\"signature\":\"\(e.signature.rawValue)\",\"jolts\":\(e.jolts)".utf8)
        num("jolt_spacing", e.joltSpacing, 2)
        num("wavelength", e.wavelength, 2)
        num("dip_to_strike", e.dipToStrike, 2)
        out.append(contentsOf: "}\n".utf8)
    }

    /// Quotes a CSV field when it needs it (RFC 4180).
    public static func csvField(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) else { return s }
        var out = "\""
        for c in s { out += c == "\"" ? "\"\"" : String(c) }
        return out + "\""
    }
}
