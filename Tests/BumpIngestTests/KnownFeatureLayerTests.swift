import BumpCore
@testable import BumpIngest
import Foundation
import Testing

@Suite("Known-feature layers")
struct KnownFeatureLayerTests {
    func write(_ text: String, _ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sb-\(UUID().uuidString)-\(name)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Reading `path` must fail with a message containing `message`.
    func expectRefused(_ path: String, saying message: String, _ why: Comment, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try KnownFeatureLayer.read(path: path, crs: nil, defaultKind: nil)
            Issue.record(why, sourceLocation: sourceLocation)
        } catch {
            #expect("\(error)".contains(message), "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("RFC 7946 GeoJSON points, kinds from the city's own words")
    func geoJSON() throws {
        let path = try write("""
            {"type":"FeatureCollection","features":[
             {"type":"Feature","id":"MH-1","geometry":{"type":"Point","coordinates":[-71.05777,42.36025]},"properties":{"asset":"Sewer manhole"}},
             {"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[-71.06,42.35],[-71.061,42.351]]},"properties":{"type":"Speed hump"}}]}
            """, "layer.geojson")
        let points = try KnownFeatureLayer.read(path: path, crs: nil, defaultKind: nil).points
        #expect(points.map(\.kind) == [.casting, .speedHump, .speedHump])
        #expect(points[0].lat == 42.36025 && points[0].lon == -71.05777 && points[0].ref == "MH-1")
    }

    @Test("legacy GeoJSON with a named projected CRS is converted through PROJ")
    func legacyCRS() throws {
        // Boston City Hall in EPSG:26986 metres.
        let path = try write("""
            {"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::26986"}},
             "features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[236430.3949,901177.7830]},"properties":{"kind":"rail crossing"}}]}
            """, "legacy.geojson")
        let p = try #require(try KnownFeatureLayer.read(path: path, crs: nil, defaultKind: nil).points.first)
        #expect(p.kind == .railCrossing)
        #expect(abs(p.lat - 42.36025) < 1e-7 && abs(p.lon - -71.05777) < 1e-7)
    }

    @Test("CSV as GIS tools write it: quoted cells with commas, doubled quotes and line breaks")
    func quotedCSV() throws {
        let path = try write(
            "\u{FEFF}\"ID\",\"Type\",\"Notes\",\"Lat\",\"Lon\"\r\n"
                + "MH-1,\"Manhole, sewer\",\"cover \"\"A\"\", cracked\",42.3395,-71.0715\r\n"
                + "\r\n"
                + "SH-2, \"Speed hump\" ,\"two lines:\nsee plan\",42.34,-71.072\r\n"
                + "MH-3,manhole,,north,-71.07\r\n",
            "assets.csv")
        // The record after a quoted line break is still counted by the line it starts on.
        expectRefused(path, saying: "assets.csv: line 6: field 'lat': 'north' is not a number", "a non-numeric latitude must be refused")
        let good = try write(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
            .replacingOccurrences(of: "MH-3,manhole,,north,-71.07\r\n", with: ""), "assets-good.csv")
        let points = try KnownFeatureLayer.read(path: good, crs: nil, defaultKind: nil).points
        #expect(points.map(\.kind) == [.casting, .speedHump])
        #expect(points.map(\.ref) == ["MH-1", "SH-2"])
        #expect(points[0].lat == 42.3395 && points[1].lon == -71.072)
    }

    @Test("a quote never closed is an error naming its line, not the rest of the file in one cell")
    func unclosedQuote() throws {
        let path = try write("id,kind,lat,lon\nMH-1,\"manhole,42.34,-71.07\nMH-2,manhole,42.35,-71.07\n", "open-quote.csv")
        expectRefused(path, saying: "open-quote.csv: line 2: a quote is opened and never closed", "an unclosed quote must be refused")
    }

    @Test("a bad CSV cell is reported with file, line and field")
    func badCSV() throws {
        let path = try write("kind,lat,lon\nmanhole,42.35,-71.07\n\nmanhole,north,-71.07\n", "bad.csv")
        expectRefused(path, saying: "bad.csv: line 4: field 'lat': 'north' is not a number", "a non-numeric latitude must be refused")
        let unknown = try write("kind,lat,lon\nbollard,42.35,-71.07\n", "unknown.csv")
        expectRefused(unknown, saying: "line 2: field 'kind': cannot tell the kind from 'bollard'", "an unknown kind must be refused")
    }

    @Test("lines and polygon outlines are points every few metres along them; a feature without a geometry is counted, not read")
    func lines() throws {
        // A rail crossing drawn as a 40 m line across the road, a hump as a polygon.
        let path = try write("""
            {"type":"FeatureCollection","features":[
             {"type":"Feature","geometry":{"type":"LineString","coordinates":[[-71.0700,42.3400],[-71.0695,42.3400]]},"properties":{"kind":"rail crossing"}},
             {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[-71.06,42.35],[-71.06,42.35004],[-71.05990,42.35004],[-71.06,42.35]]]},"properties":{"kind":"speed hump"}},
             {"type":"Feature","geometry":null,"properties":{"kind":"manhole"}}]}
            """, "lines.geojson")
        let (points, unlocated) = try KnownFeatureLayer.read(path: path, crs: nil, defaultKind: nil)
        #expect(unlocated == 1)
        let rail = points.filter { $0.kind == .railCrossing }
        #expect(rail.count >= 11, "41 m in steps of at most 4 m: \(rail.count)")
        for (a, b) in zip(rail, rail.dropFirst()) { #expect(LocalGeodesy.distance((a.lat, a.lon), (b.lat, b.lon)) <= KnownFeatureLayer.lineSpacing + 1e-6) }
        // The middle of the line, 20 m from either end, has a point within the spacing.
        #expect(rail.contains { LocalGeodesy.distance(($0.lat, $0.lon), (42.34, -71.06975)) <= KnownFeatureLayer.lineSpacing })
        #expect(points.filter { $0.kind == .speedHump }.count >= 6)
    }

    @Test("coordinates that are not numbers, or not longitude/latitude, are refused naming the feature or line")
    func badCoordinates() throws {
        for (geometry, expected) in [
            (#"{"type":"Point","coordinates":["-71.07","42.34"]}"#, "feature 2: geometry.coordinates: expected [x, y] numbers"),
            (#"{"type":"Point","coordinates":[-71.07]}"#, "feature 2: geometry.coordinates: expected [x, y] numbers"),
            (#"{"type":"LineString","coordinates":[]}"#, "feature 2: geometry.coordinates: expected a list of positions"),
            (#"{"type":"Point","coordinates":[772815.5,2949214.0]}"#, "feature 2: coordinate x 772815.5, y 2949214.0 is not longitude, latitude"),
        ] {
            let path = try write("""
                {"type":"FeatureCollection","features":[
                 {"type":"Feature","geometry":{"type":"Point","coordinates":[-71.06,42.35]},"properties":{"kind":"manhole"}},
                 {"type":"Feature","geometry":\(geometry),"properties":{"kind":"manhole"}}]}
                """, "bad.geojson")
            expectRefused(path, saying: expected, "\(geometry) must be refused")
        }
        let csv = try write("kind,lat,lon\nmanhole,42.35,-71.07\nmanhole,142.34,-71.07\n", "range.csv")
        expectRefused(csv, saying: "range.csv: line 3: coordinate x -71.07, y 142.34 is not longitude, latitude", "latitude 142 must be refused")
    }

    @Test("legacy CRS names as URNs, URLs or other authorities; geographic layer CRSs such as NAD83")
    func crsNames() throws {
        #expect(KnownFeatureLayer.legacyCRS("urn:ogc:def:crs:EPSG::2249") == "EPSG:2249")
        #expect(KnownFeatureLayer.legacyCRS("urn:ogc:def:crs:EPSG:6.3:26986") == "EPSG:26986")
        #expect(KnownFeatureLayer.legacyCRS("http://www.opengis.net/def/crs/EPSG/0/2249") == "EPSG:2249")
        #expect(KnownFeatureLayer.legacyCRS("ESRI:102686") == "ESRI:102686")
        #expect(KnownFeatureLayer.legacyCRS("EPSG:4269") == "EPSG:4269")
        #expect(KnownFeatureLayer.legacyCRS("urn:ogc:def:crs:OGC:1.3:CRS84") == nil)
        #expect(KnownFeatureLayer.legacyCRS("CRS:84") == nil && KnownFeatureLayer.legacyCRS("CRS84") == nil)
        #expect(KnownFeatureLayer.legacyCRS("urn:ogc:def:crs:OGC:1.3:CRS83") == "EPSG:4269")
        // NAD83 lon/lat is within a couple of metres of WGS84 here.
        let path = try write("""
            {"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:4269"}},
             "features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[-71.05777,42.36025]},"properties":{"kind":"manhole"}}]}
            """, "nad83.geojson")
        let p = try #require(try KnownFeatureLayer.read(path: path, crs: nil, defaultKind: nil).points.first)
        #expect(LocalGeodesy.distance((p.lat, p.lon), (42.36025, -71.05777)) < 3)
    }
}
