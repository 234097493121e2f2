import Foundation
import Testing

@Suite("streetbump reads phone recordings")
struct PhoneFormatCLITests {
    /// Simulates one trip as `format` into `dir/format/`, named `format-drive` so trips differ by name.
    private func simulate(_ format: String, into dir: URL) throws {
        let out = dir.appendingPathComponent(format)
        let r = try CLI.run(["simulate", "--out", out.path, "--trips", "1", "--duration", "90", "--rate", "50", "--seed", "3", "--format", format])
        #expect(r.status == 0, "\(r.stderr)")
        let fm = FileManager.default
        for name in try fm.contentsOfDirectory(atPath: out.path) where name.hasPrefix("trip-0001") {
            try fm.moveItem(at: out.appendingPathComponent(name), to: out.appendingPathComponent(name.replacing("trip-0001", with: "\(format)-drive")))
        }
    }

    @Test("ingest on a folder mixing formats ingests each one and reports its detected format")
    func mixedFolder() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mixed = dir.appendingPathComponent("mixed")
        for format in ["csv", "sensorlogger", "physicstoolbox", "phyphox", "gpx"] { try simulate(format, into: mixed) }
        try "name,notes\nfoo,bar\n".write(to: mixed.appendingPathComponent("notes.csv"), atomically: true, encoding: .utf8)

        let r = try CLI.run(["ingest", mixed.path, "--db", dir.appendingPathComponent("s.sqlite").path, "--privacy-trim", "0"])
        #expect(r.status == 0, "\(r.stderr)")
        let expected = [
            "csv/csv-drive.csv: csv", "sensorlogger/sensorlogger-drive: sensorlogger (Android", "physicstoolbox/physicstoolbox-drive.csv: physicstoolbox",
            "phyphox/phyphox-drive: phyphox", "gpx/gpx-drive.gpx: gpx (track joined with",
        ]
        for line in expected { #expect(r.stderr.contains(line), "missing '\(line)' in:\n\(r.stderr)") }
        #expect(r.stderr.contains("notes.csv: skipped, not a trace"), "\(r.stderr)")
        #expect(r.stderr.contains("5 files (0 already ingested, 0 failed), 5 trips"), "\(r.stderr)")
    }

    @Test("the sample phone recordings are recognised")
    func samplePhones() throws {
        let r = try CLI.run(["detect", "SampleTraces/phones"])
        #expect(r.status == 0, "\(r.stderr)")
        for line in ["gpx-drive.gpx: gpx", "phyphox: phyphox", "physics-toolbox.csv: physicstoolbox", "sensorlogger-android: sensorlogger"] {
            #expect(r.stderr.contains(line), "missing '\(line)' in:\n\(r.stderr)")
        }
        #expect(r.stderr.contains("research.csv: skipped"), "a research CSV needs its column map")
        #expect(r.stderr.contains("4 files, 2060 rows, 0 rejected"), "\(r.stderr)")
    }

    @Test("a column map saved as a profile reads the same as the flags")
    func columnProfile() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try simulate("columns", into: dir)
        let file = "columns/columns-drive.csv"
        let map = "t=timestamp_ms,ax=acc_x_g,ay=acc_y_g,az=acc_z_g,lat=gps_lat,lon=gps_lng,speed=gps_speed,accuracy=gps_hacc"
        let flags = try CLI.run(["detect", file, "--columns", map, "--accel-unit", "g", "--time-unit", "ms", "--missing", "-1,-100", "--save-profile", "fleet"], in: dir)
        #expect(flags.status == 0, "\(flags.stderr)")
        #expect(flags.stderr.contains("saved profile 'fleet'"), "\(flags.stderr)")
        let config = try String(contentsOf: dir.appendingPathComponent("streetbump.toml"), encoding: .utf8)
        #expect(config.contains("[profile.fleet]\ncolumns = \"\(map)\"\naccel_unit = \"g\"\ntime_unit = \"ms\"\nmissing = \"-1,-100\""), "\(config)")
        let profile = try CLI.run(["detect", file, "--profile", "fleet"], in: dir)
        #expect(profile.status == 0, "\(profile.stderr)")
        #expect(profile.stdout == flags.stdout)
        #expect(profile.stdout.split(separator: "\n").count > 1, "events found: \(profile.stdout)")

        let unknown = try CLI.run(["detect", file, "--profile", "nope"], in: dir)
        #expect(unknown.status != 0 && unknown.stderr.contains("no profile 'nope'") && unknown.stderr.contains("profiles: fleet"), "\(unknown.stderr)")
    }

    @Test("a named file of unknown format fails with its header, the nearest format and a --columns line")
    func unknownFile() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try "unix_time;AccelX;AccelY;AccelZ;Lat;Lng\n1717171717;0,1;0,2;9,8;42,1;-71,2\n".write(to: dir.appendingPathComponent("drive.txt"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["detect", "drive.txt"], in: dir)
        #expect(r.status == 1)
        #expect(r.stderr.contains("drive.txt:1: not a trace format streetbump recognises"), "\(r.stderr)")
        #expect(r.stderr.contains("header (6 columns): unix_time, AccelX, AccelY, AccelZ, Lat, Lng"), "\(r.stderr)")
        #expect(r.stderr.contains("--columns t=unix_time,ax=AccelX,ay=AccelY,az=AccelZ,lat=Lat,lon=Lng"), "\(r.stderr)")
        let read = try CLI.run(["detect", "drive.txt", "--columns", "t=unix_time,ax=AccelX,ay=AccelY,az=AccelZ,lat=Lat,lon=Lng"], in: dir)
        #expect(read.status == 0 && read.stderr.contains("1 rows, 0 rejected"), "\(read.stderr)")
    }
}
