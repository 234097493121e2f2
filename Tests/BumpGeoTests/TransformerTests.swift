import BumpGeo
import Testing

// All tests use the real PROJ (libproj-dev) and its EPSG database.

/// Boston City Hall, the reference point for the Massachusetts expectations below.
private let cityHall = (lon: -71.05777, lat: 42.36025)

@Suite struct ProjectionTests {
    @Test func bostonToMassachusettsMetres() throws {
        let t = try CRSTransformer(to: "EPSG:26986")
        let p = try t.forward(lon: cityHall.lon, lat: cityHall.lat)
        #expect(abs(p.x - 236430.3949) < 0.001)
        #expect(abs(p.y - 901177.7830) < 0.001)
        let back = try t.inverse(x: p.x, y: p.y)
        #expect(abs(back.lon - cityHall.lon) < 1e-8)
        #expect(abs(back.lat - cityHall.lat) < 1e-8)
    }

    @Test func bostonToMassachusettsSurveyFeet() throws {
        let t = try CRSTransformer(to: "EPSG:2249")
        let p = try t.forward(lon: cityHall.lon, lat: cityHall.lat)
        #expect(abs(p.x - 775688.7208) < 0.01)
        #expect(abs(p.y - 2956614.1099) < 0.01)
        let back = try t.inverse(x: p.x, y: p.y)
        #expect(abs(back.lon - cityHall.lon) < 1e-8)
        #expect(abs(back.lat - cityHall.lat) < 1e-8)
    }

    /// 41°N 71.5°W is the projection origin of EPSG:26986, offset by its false easting/northing.
    @Test func massachusettsFalseOrigin() throws {
        let t = try CRSTransformer(to: "EPSG:26986")
        let p = try t.forward(lon: -71.5, lat: 41)
        #expect(abs(p.x - 200000) < 0.001)
        #expect(abs(p.y - 750000) < 0.001)
    }

    @Test func targetUnitsAndNames() throws {
        let feet = try CRSTransformer(to: "EPSG:2249")
        #expect(feet.unitName == "US survey foot")
        #expect(abs(feet.metresPerUnit - 0.3048006096) < 1e-10)
        #expect(abs(feet.metresPerUnit - 1200.0 / 3937.0) < 1e-15)
        #expect(feet.targetCode == "EPSG:2249")

        let metres = try CRSTransformer(to: "EPSG:26986")
        #expect(metres.unitName == "metre")
        #expect(metres.metresPerUnit == 1)
        #expect(metres.targetCode == "EPSG:26986")
        #expect(metres.targetName == "NAD83 / Massachusetts Mainland")
    }

    /// A PROJ string (with +type=crs) has no EPSG code, so the code falls back to the text given.
    @Test func projStringTarget() throws {
        let text = "+proj=utm +zone=19 +datum=WGS84 +units=m +type=crs"
        let t = try CRSTransformer(to: text)
        #expect(t.targetCode == text)
        #expect(t.metresPerUnit == 1)
        let viaString = try t.forward(lon: cityHall.lon, lat: cityHall.lat)
        let viaEPSG = try CRSTransformer(to: "EPSG:32619").forward(lon: cityHall.lon, lat: cityHall.lat)
        #expect(abs(viaString.x - viaEPSG.x) < 0.001 && abs(viaString.y - viaEPSG.y) < 0.001)
    }
}

@Suite struct UTMTests {
    @Test func zones() {
        #expect(UTM.crs(lon: cityHall.lon, lat: cityHall.lat) == "EPSG:32619")
        #expect(UTM.crs(lon: 151.2093, lat: -33.8688) == "EPSG:32756")  // Sydney
        #expect(UTM.crs(lon: -58.38, lat: -34.6) == "EPSG:32721")  // Buenos Aires
        #expect(UTM.crs(lon: -179.9, lat: 10) == "EPSG:32601")
        #expect(UTM.crs(lon: 180, lat: 10) == "EPSG:32660")
        #expect(UTM.crs(lon: -180, lat: 10) == "EPSG:32601")
        #expect(UTM.crs(lon: 190, lat: 10) == "EPSG:32602")  // wrapped to -170
        #expect(UTM.crs(lon: 5.32, lat: 60.39) == "EPSG:32632")  // Bergen: Norway exception
        #expect(UTM.crs(lon: 15.6, lat: 78.2) == "EPSG:32633")  // Longyearbyen: Svalbard exception
        #expect(UTM.crs(lon: 0, lat: 0) == "EPSG:32631")
    }

    @Test func bostonToItsUTMZoneAndBack() throws {
        let t = try CRSTransformer(to: UTM.crs(lon: cityHall.lon, lat: cityHall.lat))
        #expect(t.targetName == "WGS 84 / UTM zone 19N")
        let p = try t.forward(lon: cityHall.lon, lat: cityHall.lat)
        // Zone 19's central meridian is 69°W, so Boston is ~170 km west of the 500 km false easting.
        #expect(p.x > 320_000 && p.x < 340_000)
        #expect(p.y > 4_690_000 && p.y < 4_700_000)
        let back = try t.inverse(x: p.x, y: p.y)
        #expect(abs(back.lon - cityHall.lon) < 1e-8)
        #expect(abs(back.lat - cityHall.lat) < 1e-8)
    }
}

@Suite struct ErrorTests {
    @Test func unknownCRSNamesTheText() {
        let error = #expect(throws: GeoError.self) { try CRSTransformer(to: "EPSG:999999") }
        #expect(error?.kind == .unknownCRS)
        #expect(error?.description.contains("'EPSG:999999'") == true)
        #expect(error?.description.contains("crs not found") == true)
        #expect(error?.description.contains("EPSG:2249") == true)  // the hint
    }

    @Test func unknownSourceCRS() {
        let error = #expect(throws: GeoError.self) { try CRSTransformer(from: "not a crs", to: "EPSG:26986") }
        #expect(error?.kind == .unknownCRS)
        #expect(error?.description.contains("'not a crs'") == true)
    }

    @Test func projStringWithoutTypeCRSIsRejected() {
        let error = #expect(throws: GeoError.self) { try CRSTransformer(to: "+proj=utm +zone=19 +datum=WGS84") }
        #expect(error?.kind == .unknownCRS)
        #expect(error?.description.contains("+type=crs") == true)
    }

    /// metresPerUnit would be meaningless for a degree-based target, so it is refused up front.
    @Test func geographicTargetIsRejected() {
        let error = #expect(throws: GeoError.self) { try CRSTransformer(to: "EPSG:4269") }
        #expect(error?.kind == .unsupportedCRS)
        #expect(error?.description.contains("not projected") == true)
    }

    @Test func untransformablePointIsReported() throws {
        let t = try CRSTransformer(to: "EPSG:26986")
        let error = #expect(throws: GeoError.self) { try t.forward(lon: 0, lat: 95) }
        #expect(error?.kind == .pointFailed)
        #expect(error?.description.contains("lat 95.0, lon 0.0") == true)
        #expect(error?.description.contains("EPSG:26986") == true)
        #expect(error?.description.contains("PROJ says: ") == true)
        // The transformer is still usable after a failure.
        let p = try t.forward(lon: -71.5, lat: 41)
        #expect(abs(p.x - 200000) < 0.001)
    }

    @Test func batchFlagsFailedPointsAndKeepsTheOthers() throws {
        let t = try CRSTransformer(to: "EPSG:26986")
        var lons = [cityHall.lon, 0, -71.5, .nan, -71.5]
        var lats = [cityHall.lat, 95, 41, 42, -91]
        let failed = t.forward(lons: &lons, lats: &lats)
        #expect(failed == [1, 3, 4])
        #expect(abs(lons[0] - 236430.3949) < 0.001 && abs(lats[0] - 901177.7830) < 0.001)
        #expect(abs(lons[2] - 200000) < 0.001 && abs(lats[2] - 750000) < 0.001)
        #expect(!lons[1].isFinite && !lons[3].isFinite && !lons[4].isFinite)
    }
}

@Suite struct BatchTests {
    /// Deterministic points scattered over Massachusetts (a small LCG, so no Foundation and no flakiness).
    private func points(_ count: Int) -> (lons: [Double], lats: [Double]) {
        var state: UInt64 = 0x5EED
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        var lons: [Double] = [], lats: [Double] = []
        lons.reserveCapacity(count)
        lats.reserveCapacity(count)
        for _ in 0..<count {
            lons.append(-73.5 + 3.5 * next())
            lats.append(41.2 + 1.7 * next())
        }
        return (lons, lats)
    }

    @Test(arguments: ["EPSG:26986", "EPSG:2249"])
    func batchEqualsPointByPoint(target: String) throws {
        let t = try CRSTransformer(to: target)
        let (lons, lats) = points(100_000)
        var xs = lons, ys = lats
        #expect(t.forward(lons: &xs, lats: &ys).isEmpty)

        var mismatches = 0
        for i in lons.indices {
            let p = try t.forward(lon: lons[i], lat: lats[i])
            if p.x != xs[i] || p.y != ys[i] { mismatches += 1 }
        }
        #expect(mismatches == 0)

        // And back again, batch against single points and against the original coordinates.
        var backLons = xs, backLats = ys
        #expect(t.inverse(xs: &backLons, ys: &backLats).isEmpty)
        var inverseMismatches = 0, worst = 0.0
        for i in xs.indices {
            let q = try t.inverse(x: xs[i], y: ys[i])
            if q.lon != backLons[i] || q.lat != backLats[i] { inverseMismatches += 1 }
            worst = max(worst, abs(backLons[i] - lons[i]), abs(backLats[i] - lats[i]))
        }
        #expect(inverseMismatches == 0)
        #expect(worst < 1e-8)
    }

    @Test func emptyBatch() throws {
        let t = try CRSTransformer(to: "EPSG:26986")
        var xs: [Double] = [], ys: [Double] = []
        #expect(t.forward(lons: &xs, lats: &ys).isEmpty)
    }
}
