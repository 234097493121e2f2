/// Picks the WGS84 UTM zone for a point; used as the projected CRS when a city configures none.
public enum UTM {
    /// The UTM zone (1...60) containing the point, including the Norway and Svalbard exceptions.
    ///
    /// Longitudes outside -180...180 are wrapped; exactly 180 belongs to zone 60 (the zone's eastern edge).
    /// Precondition: both coordinates are finite (a NaN fix is a caller bug, not a zone).
    public static func zone(lon: Double, lat: Double) -> Int {
        precondition(lon.isFinite && lat.isFinite, "UTM.zone needs finite coordinates, got lon \(lon), lat \(lat)")
        // Wrap into -180..<180 only when needed, so that +180 stays in zone 60 instead of jumping to zone 1.
        let wrapped = (-180...180).contains(lon) ? lon : lon - 360 * ((lon + 180) / 360).rounded(.down)
        var zone = min(Int((wrapped + 180) / 6) + 1, 60)

        // The official grid widens zone 32 over south-western Norway ...
        if (56..<64).contains(lat) && (3..<12).contains(wrapped) { zone = 32 }
        // ... and replaces zones 32, 34 and 36 by wider odd zones over Svalbard.
        if (72..<84).contains(lat) {
            switch wrapped {
            case 0..<9: zone = 31
            case 9..<21: zone = 33
            case 21..<33: zone = 35
            case 33..<42: zone = 37
            default: break
            }
        }
        return zone
    }

    /// The EPSG code of the WGS84 UTM zone containing the point: `EPSG:326NN` north of the equator,
    /// `EPSG:327NN` south of it (the equator itself counts as north).
    ///
    /// Beyond 84°N / 80°S UTM is formally replaced by UPS; the nearest UTM zone is still returned
    /// because it remains usable for the short distances a city covers.
    public static func crs(lon: Double, lat: Double) -> String {
        let zone = zone(lon: lon, lat: lat)
        let hemisphere = lat >= 0 ? "326" : "327"
        return "EPSG:\(hemisphere)\(zone < 10 ? "0" : "")\(zone)"
    }
}
