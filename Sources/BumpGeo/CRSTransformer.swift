import CPROJ

/// Transforms points between longitude/latitude (WGS84 by default) and a projected CRS such as
/// EPSG:26986 (Massachusetts, metres) or EPSG:2249 (Massachusetts, US survey feet), using PROJ.
///
/// Axis order is always longitude/latitude in and easting/northing out, whatever the EPSG
/// definition says (EPSG:4326 is officially latitude-first).
///
/// **One per worker/thread.** A PROJ transformation must never be used from two threads at once,
/// so each transformer owns its own PROJ context and is deliberately not `Sendable`. Build it once
/// per worker and reuse it: creating one costs milliseconds (EPSG database lookups), transforming a
/// point a fraction of a microsecond.
public final class CRSTransformer {
    /// The target CRS's name, e.g. "NAD83 / Massachusetts Mainland".
    public let targetName: String
    /// The target CRS as "AUTHORITY:CODE" (e.g. "EPSG:26986"), or the text it was created from
    /// when PROJ has no code for it (a PROJ string, a compound CRS).
    public let targetCode: String
    /// The unit of the target's axes, e.g. "metre" or "US survey foot".
    public let unitName: String
    /// Metres in one target unit: 1 for metre, 0.30480060960121924 for the US survey foot.
    public let metresPerUnit: Double

    private let context: ProjContext
    /// The normalized `PJ *` transformation (lon/lat -> easting/northing).
    private let operation: OpaquePointer

    /// Builds the transformation from `source` (a geographic CRS, WGS84 by default) to the projected `target`.
    ///
    /// Both accept anything PROJ does: "EPSG:2249", a WKT string, or a PROJ string ending in `+type=crs`.
    /// Throws if PROJ does not know a CRS, if `source` is not longitude/latitude, if `target` is not
    /// projected (its units must be a length so `metresPerUnit` means something), or if no transformation exists.
    public init(from source: String = "EPSG:4326", to target: String) throws(GeoError) {
        guard let context = ProjContext() else {
            throw GeoError(.noTransformation, "PROJ could not create a context (out of memory?)")
        }
        // Passing `context` as an argument keeps it alive until every temporary PJ is destroyed.
        let built = try Self.build(from: source, to: target, in: context)
        self.context = context
        self.operation = built.operation
        self.targetName = built.name
        self.targetCode = built.code
        self.unitName = built.unitName
        self.metresPerUnit = built.metresPerUnit
    }

    deinit {
        // Must happen before `context` is released, which destroys the PJ_CONTEXT.
        proj_destroy(operation)
    }

    // MARK: Single points

    /// Projects one point from the source CRS (WGS84) to the target CRS, in target units.
    ///
    /// Throws a `.pointFailed` error naming the point and PROJ's reason, e.g. for latitude 95.
    public func forward(lon: Double, lat: Double) throws(GeoError) -> (x: Double, y: Double) {
        var x = lon, y = lat
        run(PJ_FWD, &x, &y, count: 1)
        guard x.isFinite && y.isFinite else {
            throw GeoError(.pointFailed, "point lat \(lat), lon \(lon) cannot be transformed to \(targetCode): \(reason(lon, lat))")
        }
        return (x, y)
    }

    /// Converts one point from the target CRS (target units) back to source longitude/latitude.
    ///
    /// Note that PROJ's inverse of many projections is defined far outside the area of use, so an
    /// absurd easting/northing can come back as a finite (meaningless) longitude/latitude instead of an error.
    public func inverse(x: Double, y: Double) throws(GeoError) -> (lon: Double, lat: Double) {
        var lon = x, lat = y
        run(PJ_INV, &lon, &lat, count: 1)
        guard lon.isFinite && lat.isFinite else {
            throw GeoError(.pointFailed, "point x \(x), y \(y) in \(targetCode) cannot be transformed back to longitude/latitude: \(reason(x, y))")
        }
        return (lon, lat)
    }

    /// Why a single point failed; PROJ logs nothing for NaN or infinite input, so say it ourselves.
    private func reason(_ a: Double, _ b: Double) -> String {
        a.isFinite && b.isFinite ? "PROJ says: \(context.reason())" : "coordinates must be finite numbers"
    }

    // MARK: Batches

    /// Projects many points in place: `lons` become eastings, `lats` northings, in target units.
    ///
    /// Returns the ascending indices of points that could not be transformed (usually empty);
    /// those entries are left non-finite (infinity or NaN) and every other point is still transformed.
    /// Uses the same PROJ call as `forward(lon:lat:)`, so results are identical to point-by-point ones.
    /// Precondition: `lons.count == lats.count`.
    public func forward(lons: inout [Double], lats: inout [Double]) -> [Int] {
        runBatch(PJ_FWD, &lons, &lats)
    }

    /// Converts many points in place from the target CRS back to longitude/latitude:
    /// `xs` become longitudes, `ys` latitudes. Returns the indices of failed points, as `forward(lons:lats:)`.
    public func inverse(xs: inout [Double], ys: inout [Double]) -> [Int] {
        runBatch(PJ_INV, &xs, &ys)
    }

    private func runBatch(_ direction: PJ_DIRECTION, _ xs: inout [Double], _ ys: inout [Double]) -> [Int] {
        precondition(xs.count == ys.count, "coordinate arrays differ in length: \(xs.count) vs \(ys.count)")
        xs.withUnsafeMutableBufferPointer { x in
            ys.withUnsafeMutableBufferPointer { y in
                run(direction, x.baseAddress, y.baseAddress, count: x.count)
            }
        }
        var failed: [Int] = []
        for i in xs.indices where !(xs[i].isFinite && ys[i].isFinite) {
            failed.append(i)
        }
        return failed
    }

    /// Transforms `count` points in place; the single PROJ call behind every public method.
    ///
    /// PROJ's returned count is the number of points processed, not succeeded, and the error number
    /// after a batch does not reflect earlier failures. Failed points come back as HUGE_VAL (or NaN
    /// for NaN input), so callers check each point for finiteness.
    private func run(_ direction: PJ_DIRECTION, _ x: UnsafeMutablePointer<Double>?, _ y: UnsafeMutablePointer<Double>?, count: Int) {
        context.clearMessage()
        proj_errno_reset(operation)
        let stride = MemoryLayout<Double>.stride
        _ = proj_trans_generic(
            operation, direction,
            x, stride, count,
            y, stride, count,
            nil, 0, 0,  // no heights: 2D
            nil, 0, 0)  // no epochs
    }

    // MARK: Construction

    private struct Built {
        var operation: OpaquePointer
        var name: String
        var code: String
        var unitName: String
        var metresPerUnit: Double
    }

    private static func build(from source: String, to target: String, in context: ProjContext) throws(GeoError) -> Built {
        let ctx = context.raw
        let sourceCRS = try createCRS(source, in: context)
        defer { proj_destroy(sourceCRS) }
        let targetCRS = try createCRS(target, in: context)
        defer { proj_destroy(targetCRS) }

        let sourceAxes = try axes(of: sourceCRS, text: source, in: context)
        guard sourceAxes.type == PJ_CS_TYPE_ELLIPSOIDAL else {
            throw GeoError(.unsupportedCRS, "source CRS '\(source)' (\(name(of: sourceCRS))) is not longitude/latitude; use a geographic CRS such as EPSG:4326")
        }
        let targetAxes = try axes(of: targetCRS, text: target, in: context)
        guard targetAxes.type == PJ_CS_TYPE_CARTESIAN else {
            throw GeoError(.unsupportedCRS, "target CRS '\(target)' (\(name(of: targetCRS))) is not projected: its axes are in \(targetAxes.unitName); use a projected CRS in metres or feet such as EPSG:26986, or configure none to use the local UTM zone")
        }

        context.clearMessage()
        guard let raw = proj_create_crs_to_crs_from_pj(ctx, sourceCRS, targetCRS, nil, nil) else {
            throw GeoError(.noTransformation, "cannot transform from '\(source)' to '\(target)': PROJ says: \(context.reason(errno: proj_context_errno(ctx)))")
        }
        defer { proj_destroy(raw) }
        // EPSG:4326 is latitude-first and some projected CRSes are northing-first; normalize once
        // so callers always pass lon/lat and get easting/northing.
        guard let normalized = proj_normalize_for_visualization(ctx, raw) else {
            throw GeoError(.noTransformation, "cannot transform from '\(source)' to '\(target)': PROJ says: \(context.reason(errno: proj_context_errno(ctx)))")
        }

        var code = target
        if let authority = proj_get_id_auth_name(targetCRS, 0), let id = proj_get_id_code(targetCRS, 0) {
            code = "\(String(cString: authority)):\(String(cString: id))"
        }
        return Built(operation: normalized, name: name(of: targetCRS), code: code,
                     unitName: targetAxes.unitName, metresPerUnit: targetAxes.unitFactor)
    }

    private static func createCRS(_ text: String, in context: ProjContext) throws(GeoError) -> OpaquePointer {
        context.clearMessage()
        guard let crs = proj_create(context.raw, text) else {
            throw GeoError(.unknownCRS, "unknown CRS '\(text)': PROJ says: \(context.reason(errno: proj_context_errno(context.raw))); use an EPSG code like EPSG:2249 or a PROJ string")
        }
        // A PROJ string without +type=crs parses as a bare projection, which has no datum or units.
        guard proj_is_crs(crs) != 0 else {
            proj_destroy(crs)
            throw GeoError(.unknownCRS, "'\(text)' is not a CRS; use an EPSG code like EPSG:2249, or end a PROJ string with +type=crs")
        }
        return crs
    }

    /// The coordinate-system type and first-axis unit of the horizontal part of `crs`.
    ///
    /// Only single CRSes have a coordinate system, so compound CRSes (horizontal + vertical) and
    /// bound CRSes (PROJ strings with +towgs84) are unwrapped to their horizontal/base CRS first.
    private static func axes(of crs: OpaquePointer, text: String, in context: ProjContext) throws(GeoError)
        -> (type: PJ_COORDINATE_SYSTEM_TYPE, unitName: String, unitFactor: Double)
    {
        let ctx = context.raw
        context.clearMessage()
        var single: OpaquePointer? = proj_clone(ctx, crs)
        while let current = single, proj_get_type(current) == PJ_TYPE_COMPOUND_CRS || proj_get_type(current) == PJ_TYPE_BOUND_CRS {
            single = proj_get_type(current) == PJ_TYPE_COMPOUND_CRS
                ? proj_crs_get_sub_crs(ctx, current, 0)
                : proj_get_source_crs(ctx, current)
            proj_destroy(current)
        }
        defer { if let single { proj_destroy(single) } }

        guard let single, let cs = proj_crs_get_coordinate_system(ctx, single) else {
            throw GeoError(.unsupportedCRS, "CRS '\(text)' has no usable coordinate system: PROJ says: \(context.reason())")
        }
        defer { proj_destroy(cs) }
        var factor = 0.0
        var unit: UnsafePointer<CChar>?
        guard proj_cs_get_axis_info(ctx, cs, 0, nil, nil, nil, &factor, &unit, nil, nil) != 0 else {
            throw GeoError(.unsupportedCRS, "CRS '\(text)' has no readable axis units: PROJ says: \(context.reason())")
        }
        return (proj_cs_get_type(ctx, cs), unit.map { String(cString: $0) } ?? "unknown unit", factor)
    }

    private static func name(of object: OpaquePointer) -> String {
        proj_get_name(object).map { String(cString: $0) } ?? "unnamed"
    }
}

// A PJ must never be used from two threads at once; spell out that this is deliberate, not an oversight.
@available(*, unavailable)
extension CRSTransformer: Sendable {}
