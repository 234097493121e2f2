import BumpCore
import BumpGeo
import BumpStore
import Foundation

/// A city's layer of mapped assets (manhole and utility covers, speed humps, rail crossings),
/// read from GeoJSON or CSV. Clusters at a known asset are labelled as it, never as potholes.
public enum KnownFeatureLayer {
    public struct Point: Sendable, Equatable {
        public var kind: ClusterClass
        public var lat: Double
        public var lon: Double
        public var ref: String?
    }

    /// Reads a layer. GeoJSON coordinates are WGS84 lon/lat (RFC 7946) unless `crs` (or a legacy
    /// `crs` member) names a projected CRS; CSV has `lat,lon` or `x,y` (then `crs` is required),
    /// and `kind` unless `defaultKind` is given.
    public static func read(path: String, crs: String?, defaultKind: ClusterClass?) throws -> [Point] {
        let bytes = try FileSystem.readAll(path)
        let text = String(decoding: bytes, as: UTF8.self)
        let trimmed = text.drop { $0.isWhitespace || $0 == "\u{FEFF}" }
        if trimmed.hasPrefix("{") { return try geoJSON(Data(bytes), path: path, crs: crs, defaultKind: defaultKind) }
        return try csv(text, path: path, crs: crs, defaultKind: defaultKind)
    }

    /// Maps the words cities use for these assets to a class.
    public static func kind(named raw: String) -> ClusterClass? {
        let s = raw.lowercased().replacingOccurrences(of: "-", with: " ").replacingOccurrences(of: "_", with: " ")
        if ["casting", "manhole", "cover", "utility", "valve", "grate", "drain", "catch basin", "hydrant"].contains(where: s.contains) { return .casting }
        if ["hump", "speed bump", "speed table", "cushion"].contains(where: s.contains) { return .speedHump }
        if ["rail", "level crossing", "track", "tram"].contains(where: s.contains) { return .railCrossing }
        return nil
    }

    static func geoJSON(_ data: Data, path: String, crs: String?, defaultKind: ClusterClass?) throws -> [Point] {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FileError(path: path, message: "not a GeoJSON object")
        }
        // Legacy GeoJSON (2008) named its CRS; RFC 7946 data has none and is WGS84.
        var sourceCRS = crs
        if sourceCRS == nil, let c = root["crs"] as? [String: Any], let p = c["properties"] as? [String: Any], let name = p["name"] as? String {
            sourceCRS = legacyCRS(name)
        }
        let features: [[String: Any]]
        switch root["type"] as? String {
        case "FeatureCollection": features = root["features"] as? [[String: Any]] ?? []
        case "Feature": features = [root]
        default: throw FileError(path: path, message: "expected a FeatureCollection or Feature, found \(root["type"] ?? "no type")")
        }
        var raw: [(kind: ClusterClass, a: Double, b: Double, ref: String?)] = []
        for (n, f) in features.enumerated() {
            let props = f["properties"] as? [String: Any] ?? [:]
            let word = ["kind", "class", "type", "asset", "feature"].lazy.compactMap { props[$0] as? String }.first
            guard let kind = word.flatMap(kind(named:)) ?? defaultKind else {
                throw FileError(path: path, message: "feature \(n + 1): cannot tell its kind (properties.kind = \(word ?? "none")); pass --kind casting|speed_hump|rail_crossing")
            }
            let ref = (f["id"] ?? props["id"]).map { "\($0)" }
            guard let g = f["geometry"] as? [String: Any], let type = g["type"] as? String else { continue }
            var positions: [[Double]] = []
            switch type {
            case "Point": positions = [g["coordinates"] as? [Double] ?? []]
            case "MultiPoint", "LineString": positions = g["coordinates"] as? [[Double]] ?? []
            default: throw FileError(path: path, message: "feature \(n + 1): \(type) geometry is not supported; use points")
            }
            for p in positions where p.count >= 2 { raw.append((kind, p[0], p[1], ref)) }
        }
        return try toWGS84(raw, crs: sourceCRS, path: path)
    }

    static func csv(_ text: String, path: String, crs: String?, defaultKind: ClusterClass?) throws -> [Point] {
        let table = try CSVTable(text: text, path: path)
        let kindColumn = table.column("kind", "class", "type", "asset"), refColumn = table.column("id", "ref", "asset_id")
        let projected = table.column("lat", "latitude") == nil
        guard let a = projected ? table.column("x", "easting") : table.column("lon", "longitude", "lng"),
              let b = projected ? table.column("y", "northing") : table.column("lat", "latitude") else {
            throw FileError(path: path, message: "needs lat,lon or x,y columns (found: \(table.header.joined(separator: ", ")))")
        }
        if projected && crs == nil { throw FileError(path: path, message: "x,y columns need --layer-crs (e.g. EPSG:2249)") }
        return try toWGS84(table.rows.map { row in
            let word = kindColumn.map { row.cells[$0] }
            guard let kind = word.flatMap(kind(named:)) ?? defaultKind else {
                throw FileError(path: path, message: "line \(row.line): field '\(kindColumn.map { table.header[$0] } ?? "kind")': cannot tell the kind from '\(word ?? "")'; pass --kind")
            }
            return (kind, try table.number(row, a), try table.number(row, b), refColumn.map { row.cells[$0] })
        }, crs: projected ? crs : nil, path: path)
    }

    /// (a, b) are lon/lat, or x/y in `crs` when it names a projected CRS.
    static func toWGS84(_ raw: [(kind: ClusterClass, a: Double, b: Double, ref: String?)], crs: String?, path: String) throws -> [Point] {
        guard let crs, !["EPSG:4326", "OGC:CRS84", "CRS:84"].contains(crs.uppercased()) else {
            return try raw.map { r in
                guard (-180...180).contains(r.a), (-90...90).contains(r.b) else {
                    throw FileError(path: path, message: "coordinate \(r.a), \(r.b) is not longitude/latitude; pass --layer-crs for projected data")
                }
                return Point(kind: r.kind, lat: r.b, lon: r.a, ref: r.ref)
            }
        }
        let t = try CRSTransformer(to: crs)
        return try raw.map { r in
            let ll = try t.inverse(x: r.a, y: r.b)
            return Point(kind: r.kind, lat: ll.lat, lon: ll.lon, ref: r.ref)
        }
    }

    static func legacyCRS(_ name: String) -> String? {
        // "urn:ogc:def:crs:EPSG::2249" or "EPSG:2249"; CRS84 means lon/lat.
        if name.uppercased().hasSuffix("CRS84") { return nil }
        if let code = name.split(separator: ":").last, Int(code) != nil { return "EPSG:\(code)" }
        return nil
    }

    /// Stores the points in the store's CRS (which must be known, i.e. data ingested or --crs given).
    public static func store(_ points: [Point], source: String, into writer: StoreWriter) throws -> Int {
        let first = points.first.map { ($0.lat, $0.lon) }
        guard let t = try writer.projection(near: first) else { return 0 }
        var features: [KnownFeature] = []
        for p in points {
            let xy = try t.forward(lon: p.lon, lat: p.lat)
            features.append(KnownFeature(kind: p.kind, x: xy.x, y: xy.y, lat: p.lat, lon: p.lon, source: source, ref: p.ref))
        }
        return try writer.store.addKnownFeatures(features)
    }
}
