import BumpCore
import BumpIngest
import Foundation
import Testing

@Suite("Known-feature layers")
struct KnownFeatureLayerTests {
    func write(_ text: String, _ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sb-\(UUID().uuidString)-\(name)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("RFC 7946 GeoJSON points, kinds from the city's own words")
    func geoJSON() throws {
        let path = try write("""
            {"type":"FeatureCollection","features":[
             {"type":"Feature","id":"MH-1","geometry":{"type":"Point","coordinates":[-71.05777,42.36025]},"properties":{"asset":"Sewer manhole"}},
             {"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[-71.06,42.35],[-71.061,42.351]]},"properties":{"type":"Speed hump"}}]}
            """, "layer.geojson")
        let points = try KnownFeatureLayer.read(path: path, crs: nil, defaultKind: nil)
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
        let p = try #require(try KnownFeatureLayer.read(path: path, crs: nil, defaultKind: nil).first)
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
        do {
            _ = try KnownFeatureLayer.read(path: path, crs: nil, defaultKind: nil)
            Issue.record("a non-numeric latitude must be refused")
        } catch {
            // The record after a quoted line break is still counted by the line it starts on.
            #expect("\(error)".contains("assets.csv: line 6: field 'lat': 'north' is not a number"), "\(error)")
        }
        let good = try write(String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
            .replacingOccurrences(of: "MH-3,manhole,,north,-71.07\r\n", with: ""), "assets-good.csv")
        let points = try KnownFeatureLayer.read(path: good, crs: nil, defaultKind: nil)
        #expect(points.map(\.kind) == [.casting, .speedHump])
        #expect(points.map(\.ref) == ["MH-1", "SH-2"])
        #expect(points[0].lat == 42.3395 && points[1].lon == -71.072)
    }

    @Test("a quote never closed is an error naming its line, not the rest of the file in one cell")
    func unclosedQuote() throws {
        let path = try write("id,kind,lat,lon\nMH-1,\"manhole,42.34,-71.07\nMH-2,manhole,42.35,-71.07\n", "open-quote.csv")
        do {
            _ = try KnownFeatureLayer.read(path: path, crs: nil, defaultKind: nil)
            Issue.record("an unclosed quote must be refused")
        } catch {
            #expect("\(error)".contains("open-quote.csv: line 2: a quote is opened and never closed"), "\(error)")
        }
    }

    @Test("a bad CSV cell is reported with file, line and field")
    func badCSV() throws {
        let path = try write("kind,lat,lon\nmanhole,42.35,-71.07\n\nmanhole,north,-71.07\n", "bad.csv")
        do {
            _ = try KnownFeatureLayer.read(path: path, crs: nil, defaultKind: nil)
            Issue.record("a non-numeric latitude must be refused")
        } catch {
            #expect("\(error)".contains("bad.csv: line 4: field 'lat': 'north' is not a number"), "\(error)")
        }
        let unknown = try write("kind,lat,lon\nbollard,42.35,-71.07\n", "unknown.csv")
        do {
            _ = try KnownFeatureLayer.read(path: unknown, crs: nil, defaultKind: nil)
            Issue.record("an unknown kind must be refused")
        } catch {
            #expect("\(error)".contains("line 2: field 'kind': cannot tell the kind from 'bollard'"), "\(error)")
        }
    }
}
