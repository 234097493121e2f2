import BumpCore
import BumpGeo
import BumpStore

/// Where the data comes from, for staff and council offices: a grid of squares in the city CRS
/// with metres driven, trips and devices, so "no potholes here" can be told from "nobody drove here".
public struct CoverageExport {
    public let squares: [CoverageSquare]
    let transformer: CRSTransformer
    public let crs: String

    /// Square sizes that make sense: from the 5 m coverage cell to a whole city.
    public static let sizes: ClosedRange<Double> = 5...100_000

    /// The store's coverage summed into squares of `size` metres (within `sizes`); nil when the
    /// store has no CRS yet (nothing ingested).
    public init?(store: TraceStore, size: Double) throws {
        guard let crs = try store.setting("crs") else { return nil }
        var grid = CoverageGrid(size: size)
        try store.forEachCoverageRow { grid.add(cell: $0, trip: $1, device: $2) }
        try self.init(squares: grid.squares, crs: crs)
    }

    /// Squares summed before (e.g. kept by a server between requests), in `crs`.
    public init(squares: [CoverageSquare], crs: String) throws {
        self.crs = crs
        self.squares = squares
        transformer = try CRSTransformer(to: crs)
    }

    /// Only the squares whose centre lies in the box (WGS84 degrees), e.g. a map's view.
    public func within(minLon: Double, minLat: Double, maxLon: Double, maxLat: Double) throws -> CoverageExport {
        let m = transformer.metresPerUnit
        var xs = squares.map { ($0.x + $0.size / 2) / m }, ys = squares.map { ($0.y + $0.size / 2) / m }
        let failed = Set(transformer.inverse(xs: &xs, ys: &ys))
        let kept = squares.indices.filter { i in
            !failed.contains(i) && xs[i] >= minLon && xs[i] <= maxLon && ys[i] >= minLat && ys[i] <= maxLat
        }
        return try CoverageExport(squares: kept.map { squares[$0] }, crs: crs)
    }

    public static let csvHeader = "x,y,lat,lon,size_m,distance_m,trips,devices\n"

    /// CSV: the square's centre in the CRS and in WGS84, its size and what was driven there.
    public func csv() -> String {
        let m = transformer.metresPerUnit
        var out = Self.csvHeader
        for s in squares {
            let (cx, cy) = ((s.x + s.size / 2) / m, (s.y + s.size / 2) / m)
            let ll = (try? transformer.inverse(x: cx, y: cy)) ?? (lon: .nan, lat: .nan)
            out += "\(f(cx, 3)),\(f(cy, 3)),\(f(ll.lat, 7)),\(f(ll.lon, 7)),\(f(s.size, 1)),\(f(s.distance, 0)),\(s.trips),\(s.devices)\n"
        }
        return out
    }

    /// GeoJSON (RFC 7946): one polygon per square, corners in WGS84 counter-clockwise.
    public func geoJSON() -> String {
        let m = transformer.metresPerUnit
        var features: [String] = []
        features.reserveCapacity(squares.count)
        for s in squares {
            var xs = [s.x, s.x + s.size, s.x + s.size, s.x, s.x].map { $0 / m }
            var ys = [s.y, s.y, s.y + s.size, s.y + s.size, s.y].map { $0 / m }
            guard transformer.inverse(xs: &xs, ys: &ys).isEmpty else { continue }
            let ring = zip(xs, ys).map { "[\(f($0, 7)),\(f($1, 7))]" }.joined(separator: ",")
            let props = "\"x\":\(f((s.x + s.size / 2) / m, 3)),\"y\":\(f((s.y + s.size / 2) / m, 3)),\"crs\":\(TraceWriter.jsonString(crs)),"
                + "\"size_m\":\(f(s.size, 1)),\"distance_m\":\(f(s.distance, 0)),\"trips\":\(s.trips),\"devices\":\(s.devices)"
            features.append("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[\(ring)]]},\"properties\":{\(props)}}")
        }
        return "{\"type\":\"FeatureCollection\",\"features\":[\n" + features.joined(separator: ",\n") + "\n]}\n"
    }

    private func f(_ v: Double, _ places: Int) -> String { TraceWriter.fixed(v, places: places) }
}
