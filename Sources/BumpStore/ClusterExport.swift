import BumpCore

/// Clusters as GIS analysts take them: CSV (DESIGN.md 4.3 columns first) and GeoJSON (RFC 7946:
/// WGS84, longitude before latitude, the store's CRS x/y as properties).
public enum ClusterExport {
    public static let csvHeader = "id,lat,lon,x,y,class,confidence,events,trips,passes,hit_ratio,severity,state,devices,hits,opposite_passes,opposite_hits,first_seen,last_seen,known_feature\n"

    public static func csv(_ clusters: [ClusterRecord]) -> String {
        var out = csvHeader
        for c in clusters {
            let s = c.summary
            out += "\(c.id),\(cell(c.lat, 7)),\(cell(c.lon, 7)),\(cell(c.x, 3)),\(cell(c.y, 3)),\(c.cls.rawValue),\(cell(c.confidence, 3)),"
            out += "\(s.events),\(s.trips),\(s.passes),\(cell(s.hitRatio, 3)),\(s.severity),\(c.state),\(s.devices),\(s.hits),"
            out += "\(s.oppositePasses),\(s.oppositeHits),\(Timestamp.iso(s.firstSeen)),\(Timestamp.iso(s.lastSeen)),\(c.knownFeature.map(String.init) ?? "")\n"
        }
        return out
    }

    public static func geoJSON(_ clusters: [ClusterRecord], crs: String) -> String {
        var features: [String] = []
        for c in clusters where c.lat.isFinite && c.lon.isFinite {
            let s = c.summary
            var p: [String] = [
                "\"id\":\(c.id)", "\"class\":\(string(c.cls.rawValue))", "\"confidence\":\(num(c.confidence, 3))",
                "\"state\":\(string(c.state))", "\"events\":\(s.events)", "\"trips\":\(s.trips)", "\"devices\":\(s.devices)",
                "\"passes\":\(s.passes)", "\"hits\":\(s.hits)", "\"hit_ratio\":\(num(s.hitRatio, 3))", "\"severity\":\(s.severity)",
                "\"x\":\(num(c.x, 3))", "\"y\":\(num(c.y, 3))", "\"crs\":\(string(crs))",
                "\"first_seen\":\(string(Timestamp.iso(s.firstSeen)))", "\"last_seen\":\(string(Timestamp.iso(s.lastSeen)))",
                "\"reasons\":[\(c.reasons.map(string).joined(separator: ","))]",
            ]
            if let k = c.knownFeature { p.append("\"known_feature\":\(k)") }
            features.append("{\"type\":\"Feature\",\"id\":\(c.id),\"geometry\":{\"type\":\"Point\",\"coordinates\":[\(num(c.lon, 7)),\(num(c.lat, 7))]},\"properties\":{\(p.joined(separator: ","))}}")
        }
        return "{\"type\":\"FeatureCollection\",\"features\":[\n" + features.joined(separator: ",\n") + "\n]}\n"
    }

    /// A CSV cell: empty when unknown.
    static func cell(_ v: Double, _ places: Int) -> String { TraceWriter.fixed(v, places: places) }

    /// A JSON number: null when unknown.
    static func num(_ v: Double, _ places: Int) -> String { v.isFinite ? TraceWriter.fixed(v, places: places) : "null" }

    static func string(_ s: String) -> String { TraceWriter.jsonString(s) }
}
