import RealModule

/// Small-distance geodesy on a sphere, enough for interpolating between GPS fixes a few metres
/// apart and for laying out the simulated city. City-scale work in projected metres uses PROJ.
public enum LocalGeodesy {
    /// Mean Earth radius, metres.
    public static let earthRadius = 6_371_008.8
    static let degToRad = Double.pi / 180

    /// Metres east and north of `origin` (equirectangular; error < 0.1 % within a few km).
    @inlinable
    public static func offset(from origin: (lat: Double, lon: Double), to p: (lat: Double, lon: Double)) -> (east: Double, north: Double) {
        let k = Double.pi / 180 * earthRadius
        return ((p.lon - origin.lon) * k * Double.cos(origin.lat * Double.pi / 180), (p.lat - origin.lat) * k)
    }

    /// The point `east`, `north` metres from `origin`.
    @inlinable
    public static func point(from origin: (lat: Double, lon: Double), east: Double, north: Double) -> (lat: Double, lon: Double) {
        let k = Double.pi / 180 * earthRadius
        return (origin.lat + north / k, origin.lon + east / (k * Double.cos(origin.lat * Double.pi / 180)))
    }

    /// Distance in metres between two nearby points.
    public static func distance(_ a: (lat: Double, lon: Double), _ b: (lat: Double, lon: Double)) -> Double {
        let d = offset(from: a, to: b)
        return (d.east * d.east + d.north * d.north).squareRoot()
    }

    /// Bearing from `a` to `b`, degrees clockwise from north in [0, 360).
    public static func bearing(_ a: (lat: Double, lon: Double), _ b: (lat: Double, lon: Double)) -> Double {
        let d = offset(from: a, to: b)
        let deg = Double.atan2(y: d.east, x: d.north) / degToRad
        return deg < 0 ? deg + 360 : deg
    }
}
