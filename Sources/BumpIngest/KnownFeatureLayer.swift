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
        /// Where in the file it came from ("line 12", "feature 3"), for messages.
        public var place: String
    }

    /// A shape as the file gives it, in the file's coordinates: points, or a line whose whole
    /// length is the asset (a rail crossing drawn across the road, a hump's outline).
    struct Shape {
        var kind: ClusterClass
        var vertices: [(a: Double, b: Double)]
        var isLine: Bool
        var ref: String?
        var place: String
    }

    /// Metres between the points a line is stored as: well inside the radius at which a known
    /// asset claims a cluster, so a cluster anywhere along the line is claimed.
    public static let lineSpacing = 4.0

    /// Reads a layer. GeoJSON coordinates are WGS84 lon/lat (RFC 7946) unless `crs` (or a legacy
    /// `crs` member) names another CRS; CSV has `lat,lon` or `x,y` (then `crs` is required),
    /// and `kind` unless `defaultKind` is given. Lines and polygon outlines become points every
    /// few metres along them. Features without a geometry (RFC 7946 allows it) are counted in
    /// `unlocated`, not read.
    public static func read(path: String, crs: String?, defaultKind: ClusterClass?) throws -> (points: [Point], unlocated: Int) {
        let bytes = try FileSystem.readAll(path)
        let text = String(decoding: bytes, as: UTF8.self)
        let trimmed = text.drop { $0.isWhitespace || $0 == "\u{FEFF}" }
        if trimmed.hasPrefix("{") { return try geoJSON(Data(bytes), path: path, crs: crs, defaultKind: defaultKind) }
        return (try csv(text, path: path, crs: crs, defaultKind: defaultKind), 0)
    }

    /// Maps the words cities use for these assets to a class.
    public static func kind(named raw: String) -> ClusterClass? {
        let s = raw.lowercased().replacingOccurrences(of: "-", with: " ").replacingOccurrences(of: "_", with: " ")
        if ["casting", "manhole", "cover", "utility", "valve", "grate", "drain", "catch basin", "hydrant"].contains(where: s.contains) { return .casting }
        if ["hump", "speed bump", "speed table", "cushion"].contains(where: s.contains) { return .speedHump }
        if ["rail", "level crossing", "track", "tram"].contains(where: s.contains) { return .railCrossing }
        return nil
    }

    static func geoJSON(_ data: Data, path: String, crs: String?, defaultKind: ClusterClass?) throws -> (points: [Point], unlocated: Int) {
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
        var shapes: [Shape] = []
        var unlocated = 0
        for (n, f) in features.enumerated() {
            let place = "feature \(n + 1)"
            let props = f["properties"] as? [String: Any] ?? [:]
            let word = ["kind", "class", "type", "asset", "feature"].lazy.compactMap { props[$0] as? String }.first
            guard let kind = word.flatMap(kind(named:)) ?? defaultKind else {
                throw FileError(path: path, message: "\(place): cannot tell its kind (properties.kind = \(word ?? "none")); pass --kind casting|speed_hump|rail_crossing")
            }
            let ref = (f["id"] ?? props["id"]).map { "\($0)" }
            guard let g = f["geometry"] as? [String: Any] else {
                unlocated += 1
                continue
            }
            func position(_ value: Any?) throws -> (a: Double, b: Double) {
                guard let p = value as? [Any], p.count >= 2, let a = (p[0] as? NSNumber)?.doubleValue, let b = (p[1] as? NSNumber)?.doubleValue,
                      !(p[0] is Bool), a.isFinite, b.isFinite else {
                    throw FileError(path: path, message: "\(place): geometry.coordinates: expected [x, y] numbers, got \(String(describing: value ?? "nothing").prefix(60))")
                }
                return (a, b)
            }
            func positions(_ value: Any?) throws -> [(a: Double, b: Double)] {
                guard let list = value as? [Any], !list.isEmpty else {
                    throw FileError(path: path, message: "\(place): geometry.coordinates: expected a list of positions, got \(String(describing: value ?? "nothing").prefix(60))")
                }
                return try list.map(position)
            }
            func lists(_ value: Any?) throws -> [Any] {
                guard let list = value as? [Any], !list.isEmpty else {
                    throw FileError(path: path, message: "\(place): geometry.coordinates: expected lists of positions")
                }
                return list
            }
            let coordinates = g["coordinates"]
            let type = g["type"] as? String ?? "no type"
            switch type {
            case "Point": shapes.append(Shape(kind: kind, vertices: [try position(coordinates)], isLine: false, ref: ref, place: place))
            case "MultiPoint": shapes.append(Shape(kind: kind, vertices: try positions(coordinates), isLine: false, ref: ref, place: place))
            case "LineString": shapes.append(Shape(kind: kind, vertices: try positions(coordinates), isLine: true, ref: ref, place: place))
            // Polygons by their rings: a cluster on a hump or crossing drawn as an area is near its outline.
            case "MultiLineString", "Polygon":
                for line in try lists(coordinates) { shapes.append(Shape(kind: kind, vertices: try positions(line), isLine: true, ref: ref, place: place)) }
            case "MultiPolygon":
                for polygon in try lists(coordinates) {
                    for ring in try lists(polygon) { shapes.append(Shape(kind: kind, vertices: try positions(ring), isLine: true, ref: ref, place: place)) }
                }
            default: throw FileError(path: path, message: "\(place): \(type) geometry is not supported; use points, lines or polygons")
            }
        }
        return (try toWGS84(shapes, crs: sourceCRS, path: path), unlocated)
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
            return Shape(kind: kind, vertices: [(try table.number(row, a), try table.number(row, b))], isLine: false,
                         ref: refColumn.map { row.cells[$0] }, place: "line \(row.line)")
        }, crs: projected ? crs : nil, path: path)
    }

    /// The shapes' positions as WGS84 points, lines filled in every `lineSpacing` metres.
    /// (a, b) are lon/lat, or coordinates in `crs` (projected, or geographic such as NAD83).
    static func toWGS84(_ shapes: [Shape], crs: String?, path: String) throws -> [Point] {
        let convert = try converter(crs, path: path)
        var out: [Point] = []
        for shape in shapes {
            let vertices = try shape.vertices.map { v in
                do {
                    return try convert(v.a, v.b)
                } catch {
                    throw FileError(path: path, message: "\(shape.place): \(error)")
                }
            }
            var previous: (lon: Double, lat: Double)?
            for v in vertices {
                if shape.isLine, let p = previous {
                    let steps = Int((LocalGeodesy.distance((p.lat, p.lon), (v.lat, v.lon)) / lineSpacing).rounded(.up))
                    for k in stride(from: 1, to: max(steps, 1), by: 1) {
                        let f = Double(k) / Double(steps)
                        out.append(Point(kind: shape.kind, lat: p.lat + (v.lat - p.lat) * f, lon: p.lon + (v.lon - p.lon) * f, ref: shape.ref, place: shape.place))
                    }
                }
                out.append(Point(kind: shape.kind, lat: v.lat, lon: v.lon, ref: shape.ref, place: shape.place))
                previous = v
            }
        }
        return out
    }

    /// The conversion of one position of a layer in `crs` (nil: WGS84 lon/lat) to lon/lat.
    static func converter(_ crs: String?, path: String) throws -> (Double, Double) throws -> (lon: Double, lat: Double) {
        guard let crs, !["EPSG:4326", "OGC:CRS84", "CRS:84"].contains(crs.uppercased()) else {
            return { a, b in
                guard (-180...180).contains(a), (-90...90).contains(b) else {
                    throw NotLonLat(a: a, b: b)
                }
                return (a, b)
            }
        }
        let transformer: CRSTransformer
        do {
            transformer = try CRSTransformer(to: crs)
        } catch where error.kind == .unsupportedCRS {
            // Not projected: a geographic CRS other than WGS84 (NAD83, ETRS89).
            return try geographicConverter(crs, path: path)
        } catch {
            throw FileError(path: path, message: "layer CRS: \(error.description)")
        }
        return { a, b in try transformer.inverse(x: a, y: b) }
    }

    /// Lon/lat in a geographic `crs` to WGS84, through a projection both know, so PROJ applies
    /// the datum shift between them.
    static func geographicConverter(_ crs: String, path: String) throws -> (Double, Double) throws -> (lon: Double, lat: Double) {
        let fromLayer: CRSTransformer, toWGS84: CRSTransformer
        do {
            (fromLayer, toWGS84) = (try CRSTransformer(from: crs, to: "EPSG:3857"), try CRSTransformer(to: "EPSG:3857"))
        } catch {
            throw FileError(path: path, message: "layer CRS: \(error.description)")
        }
        return { a, b in
            let xy = try fromLayer.forward(lon: a, lat: b)
            return try toWGS84.inverse(x: xy.x, y: xy.y)
        }
    }

    struct NotLonLat: Error, CustomStringConvertible {
        var a: Double, b: Double
        var description: String { "coordinate x \(a), y \(b) is not longitude, latitude; pass --layer-crs for projected data" }
    }

    /// The CRS a legacy GeoJSON `crs` member names, as AUTHORITY:CODE: "EPSG:2249",
    /// "urn:ogc:def:crs:EPSG::2249", "http://www.opengis.net/def/crs/EPSG/0/2249", "ESRI:102686".
    /// CRS84 (and an unreadable name) means lon/lat.
    static func legacyCRS(_ name: String) -> String? {
        // OGC's lon/lat: "CRS84", "CRS:84", "urn:ogc:def:crs:OGC:1.3:CRS84".
        let compact = name.uppercased().replacingOccurrences(of: ":", with: "")
        if compact.hasSuffix("CRS84") { return nil }
        if compact.hasSuffix("CRS83") { return "EPSG:4269" }
        let parts = name.split(separator: name.contains("/") ? "/" : ":", omittingEmptySubsequences: false).map(String.init)
        guard let code = parts.last, !code.isEmpty, code.allSatisfy(\.isNumber) else { return nil }
        // The authority: the part after "crs" in a URN or URL, else the first part.
        let authority = parts.firstIndex { $0.lowercased() == "crs" }.map { parts[$0 + 1] } ?? parts[0]
        return authority.isEmpty || parts.count < 2 ? nil : "\(authority.uppercased()):\(code)"
    }

    /// Metres beyond which a layer's point is taken for a mistake (columns swapped, the wrong
    /// --layer-crs) when the store already holds clusters: a city's assets lie where it drives.
    static let farFromData = 50_000.0

    /// Stores the points in the store's CRS (which must be known, i.e. data ingested or --crs
    /// given), replacing what an earlier import under the name `source` (or `legacy`, the
    /// name older versions gave the same file) stored: importing a corrected layer again
    /// updates it instead of adding every feature twice. Returns how many were stored and
    /// how many replaced.
    public static func store(_ points: [Point], source: String, replacing legacy: String? = nil, into writer: StoreWriter) throws -> (stored: Int, replaced: Int) {
        let first = points.first.map { ($0.lat, $0.lon) }
        guard let t = try writer.projection(near: first) else { return (0, 0) }
        // Swapped columns or a wrong CRS put (nearly) every point far away; a county layer
        // with some crossings beyond the data is fine.
        let clusters = try writer.store.clusters()
        if !clusters.isEmpty {
            let lats = clusters.map(\.lat), lons = clusters.map(\.lon)
            let centre = ((lats.min()! + lats.max()!) / 2, (lons.min()! + lons.max()!) / 2)
            let reach = LocalGeodesy.distance((lats.min()!, lons.min()!), (lats.max()!, lons.max()!)) / 2 + farFromData
            let far = points.filter { LocalGeodesy.distance(centre, ($0.lat, $0.lon)) > reach }
            if let first = far.first, far.count * 2 > points.count {
                let km = Int(LocalGeodesy.distance(centre, (first.lat, first.lon)) / 1_000)
                throw FileError(path: source, message: "\(far.count) of \(points.count) points are over \(Int(farFromData / 1_000)) km from the data, e.g. \(first.place): lat \(first.lat), lon \(first.lon), \(km) km away: are latitude and longitude swapped, or is --layer-crs wrong?")
            }
        }
        var features: [KnownFeature] = []
        for p in points {
            let xy = try t.forward(lon: p.lon, lat: p.lat)
            features.append(KnownFeature(kind: p.kind, x: xy.x, y: xy.y, lat: p.lat, lon: p.lon, source: source, ref: p.ref))
        }
        return try writer.store.replaceKnownFeatures(source: source, alsoSource: legacy, with: features)
    }
}
