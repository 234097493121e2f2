/// The GPS rules shared by every format that is not streetbump's own: phone apps and loggers
/// mark "no fix" in several ways, and some repeat the last fix on every row.
///
/// - a sentinel value (`-1`, `-100`, as configured) in a position, speed or accuracy field
///   means that value is absent; a position with a sentinel is no position;
/// - a negative accuracy means the fix is invalid (Android and iOS both report it so), a
///   negative speed means the speed is unknown;
/// - 0,0 ("null island") is an unset position, not a place;
/// - with `dropsRepeats` (loggers that write the last fix on every accelerometer row), the same
///   position as the previous fix is that fix repeated, so only its first appearance counts;
///   without it (apps that write each fix once) every fix counts, a vehicle standing still too;
/// - a fix without speed gets the speed of travel from the previous fix, as the detector needs
///   speed to know the vehicle is moving.
struct FixCleaner {
    let missing: [Double]
    let dropsRepeats: Bool
    private var lastFix: (t: Double, lat: Double, lon: Double)?

    /// Longest gap between fixes across which a speed is derived, ms.
    static let maxSpeedGap = 10_000.0

    init(missing: [Double], dropsRepeats: Bool) {
        self.missing = missing
        self.dropsRepeats = dropsRepeats
    }

    /// Applies the rules to `row` (time already in milliseconds). Returns false when cleaning
    /// left the row with nothing to carry, so it is dropped without counting as a problem.
    @inline(__always)
    mutating func clean(_ row: inout TraceRow) -> Bool {
        if row.lat.isNaN && row.lon.isNaN {
            row.speed = .nan
            row.accuracy = .nan
            return true
        }
        return cleanFix(&row)
    }

    private mutating func cleanFix(_ row: inout TraceRow) -> Bool {
        var drop = false
        if !missing.isEmpty {
            if missing.contains(row.lat) || missing.contains(row.lon) { drop = true }
            if missing.contains(row.speed) { row.speed = .nan }
            if missing.contains(row.accuracy) { row.accuracy = .nan }
        }
        if row.accuracy < 0 { drop = true }
        if row.speed < 0 { row.speed = .nan }
        if row.lat == 0 && row.lon == 0 { drop = true }
        if !drop, !row.lat.isNaN, !row.lon.isNaN {
            if dropsRepeats, let last = lastFix, last.lat == row.lat, last.lon == row.lon {
                drop = true
            } else {
                if row.speed.isNaN, let last = lastFix, case let dt = row.t - last.t, dt > 0, dt <= Self.maxSpeedGap {
                    row.speed = LocalGeodesy.distance((last.lat, last.lon), (row.lat, row.lon)) / (dt / 1000)
                }
                lastFix = (row.t, row.lat, row.lon)
            }
        }
        guard drop else { return true }
        row.lat = .nan
        row.lon = .nan
        row.speed = .nan
        row.accuracy = .nan
        return row.hasAcceleration || !(row.ax.isNaN && row.ay.isNaN && row.az.isNaN)
    }
}
