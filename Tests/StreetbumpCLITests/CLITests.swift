import BumpStore
import Foundation
import Testing

/// End-to-end tests of the built `streetbump` binary, as a user runs it.
enum CLI {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        // `swift build --build-tests` builds the executable beside the test bundle.
        let candidates = [".build/debug/streetbump", ".build/release/streetbump"].map { packageRoot.appendingPathComponent($0) }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:], input: URL? = nil) throws -> Result {
        let process = Process()
        if let input { process.standardInput = try FileHandle(forReadingFrom: input) }
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? packageRoot
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STREETBUMP_") }.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes before waiting so a full pipe cannot block the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("streetbump-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

@Suite("streetbump command line")
struct CLITests {
    @Test("detect reports each malformed row with file, line and field, and keeps the rest")
    func malformedRows() throws {
        let r = try CLI.run(["detect", "SampleTraces/malformed/bad-rows.csv"])
        #expect(r.status == 0, "\(r.stderr)")
        for (line, field) in [(6, "ax"), (10, "ay"), (15, "t"), (20, "lat")] {
            #expect(r.stderr.contains("bad-rows.csv:\(line): field '\(field)'"), "line \(line) not reported: \(r.stderr)")
        }
        #expect(r.stderr.contains("bad-rows.csv:25:"), "\(r.stderr)")
        #expect(r.stderr.contains("34 rows, 5 rejected"), "\(r.stderr)")
    }

    @Test("a file that cannot be read does not stop the batch")
    func badFileDoesNotStopBatch() throws {
        let r = try CLI.run(["detect", "no-such-file.csv", "SampleTraces/city/trip-0003.csv"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("no-such-file.csv"))
        #expect(r.stdout.split(separator: "\n").count > 1, "events of the good file are still printed")
    }

    @Test("detect --jobs 2 prints exactly what --jobs 1 prints, in the order given, bad files included")
    func parallelDetectKeepsOrder() throws {
        // The unreadable file fails at once while the first (the largest) is still being read: printing as
        // files finish would put its error first.
        let files = ["SampleTraces/city/trip-0003.csv", "no-such-file.csv", "SampleTraces/malformed/bad-rows.csv", "SampleTraces/city/trip-0001.csv", "SampleTraces/city/trip-0002.csv"]
        let serial = try CLI.run(["detect", "--jobs", "1"] + files)
        let parallel = try CLI.run(["detect", "--jobs", "2"] + files)
        #expect(serial.status == 1 && parallel.status == 1)
        #expect(serial.stdout.split(separator: "\n").count > 5)
        #expect(parallel.stdout == serial.stdout)
        #expect(parallel.stderr == serial.stderr)
        #expect(serial.stderr.hasPrefix("SampleTraces/city/trip-0003.csv: "), "\(serial.stderr)")
        #expect(try CLI.run(["detect", "--jobs", "0"] + files).status != 0)
    }

    @Test("samples dropped as out of time order are reported, not lost silently")
    func unsortedFile() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lines = try String(contentsOf: CLI.packageRoot.appendingPathComponent("SampleTraces/city/trip-0003.csv"), encoding: .utf8)
            .split(separator: "\n")
        let half = lines.count / 2
        let swapped = ([lines[0]] + lines[half...] + lines[1..<half]).joined(separator: "\n") + "\n"
        let file = dir.appendingPathComponent("swapped.csv")
        try swapped.write(to: file, atomically: true, encoding: .utf8)
        for command in [["detect"], ["ingest", "--db", dir.appendingPathComponent("s.sqlite").path]] {
            let r = try CLI.run(command + [file.path])
            #expect(r.stderr.contains("swapped.csv: dropped ") && r.stderr.contains("out of time order (is the file sorted by time?)"), "\(r.stderr)")
        }
        #expect(!(try CLI.run(["detect", "SampleTraces/city/trip-0003.csv"]).stderr.contains("dropped")))
    }

    @Test("simulate is deterministic and writes the truth files")
    func simulateDeterministic() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["a", "b"] {
            let r = try CLI.run(["simulate", "--out", dir.appendingPathComponent(name).path, "--trips", "2", "--duration", "30", "--seed", "9"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        for file in ["trip-0001.csv", "trip-0002.csv", "truth.csv", "crossings.csv", "trips.csv"] {
            let a = try Data(contentsOf: dir.appendingPathComponent("a/\(file)"))
            let b = try Data(contentsOf: dir.appendingPathComponent("b/\(file)"))
            #expect(a == b, "\(file) differs between two runs with the same seed")
        }
        let truth = try String(contentsOf: dir.appendingPathComponent("a/truth.csv"), encoding: .utf8)
        #expect(truth.hasPrefix("id,kind,lat,lon,severity\n"))
    }

    @Test("the same trips give the same events as CSV files or as one interleaved NDJSON stream")
    func csvAndNDJSONAgree() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = ["--trips", "4", "--duration", "120", "--seed", "21", "--rate", "50"]
        #expect(try CLI.run(["simulate", "--out", dir.appendingPathComponent("csv").path] + args).status == 0)
        #expect(try CLI.run(["simulate", "--out", dir.appendingPathComponent("ndjson").path, "--format", "ndjson"] + args).status == 0)
        let fromCSV = try CLI.run(["detect", dir.appendingPathComponent("csv").path])
        let fromNDJSON = try CLI.run(["detect", dir.appendingPathComponent("ndjson/trips.ndjson").path])
        #expect(fromCSV.status == 0 && fromNDJSON.status == 0, "\(fromCSV.stderr)\(fromNDJSON.stderr)")
        // The folder also holds truth.csv etc., which are not traces: only compare event rows.
        func events(_ s: String) -> [String] {
            s.split(separator: "\n").dropFirst().filter { $0.hasPrefix("trip-") }.map(String.init).sorted()
        }
        let a = events(fromCSV.stdout), b = events(fromNDJSON.stdout)
        #expect(!a.isEmpty)
        #expect(a == b)
    }

    @Test("json output has one object per event")
    func jsonOutput() throws {
        let r = try CLI.run(["detect", "--format", "json", "SampleTraces/city/trip-0003.csv"])
        #expect(r.status == 0)
        for line in r.stdout.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["kind"] is String)
            #expect(object?["t"] is Double || object?["t"] is Int)
        }
    }

    @Test("ingest, then export clusters as RFC 7946 GeoJSON and CSV")
    func ingestAndExport() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        let traces = CLI.packageRoot.appendingPathComponent("SampleTraces/city").path
        let ingest = try CLI.run(["ingest", traces, "--db", db, "--privacy-trim", "0"])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stderr.contains("4 files (0 already ingested, 0 failed), 4 trips"), "\(ingest.stderr)")
        let again = try CLI.run(["ingest", traces, "--db", db, "--privacy-trim", "0"])
        #expect(again.stderr.contains("4 already ingested"), "\(again.stderr)")

        let geo = try CLI.run(["clusters", "export", "--db", db, "--all"])
        #expect(geo.status == 0, "\(geo.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(geo.stdout.utf8)) as? [String: Any])
        #expect(root["type"] as? String == "FeatureCollection")
        let features = try #require(root["features"] as? [[String: Any]])
        #expect(!features.isEmpty)
        for f in features {
            let g = try #require(f["geometry"] as? [String: Any])
            let c = try #require(g["coordinates"] as? [Double])
            // Longitude first (Boston: about -71), then latitude (about 42).
            #expect(c.count == 2 && (-72 ... -70).contains(c[0]) && (41...43).contains(c[1]))
            let p = try #require(f["properties"] as? [String: Any])
            #expect(p["x"] is Double && p["y"] is Double && p["crs"] as? String == "EPSG:32619")
        }
        let csv = try CLI.run(["clusters", "export", "--db", db, "--all", "--format", "csv"])
        #expect(csv.stdout.hasPrefix("id,lat,lon,x,y,class,confidence,events,trips,passes,hit_ratio,severity,state"))
        #expect(csv.stdout.split(separator: "\n").count == features.count + 1)
    }

    @Test("commands that read the store refuse a path with no store instead of creating an empty one")
    func missingStore() throws {
        let dir = try CLI.temporaryDirectory()
        try "lat,lon\n42.35,-71.06\n".write(to: dir.appendingPathComponent("truth.csv"), atomically: true, encoding: .utf8)
        for command in [["clusters", "export"], ["clusters", "list"], ["evaluate", "--truth", "truth.csv"], ["coverage", "export"], ["requests", "list"]] {
            let r = try CLI.run(command + ["--db", "mistyped.sqlite"], in: dir)
            #expect(r.status == 1 && r.stderr.contains("no store at mistyped.sqlite") && r.stdout.isEmpty, "\(command): \(r.status) \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("mistyped.sqlite").path), "\(command) created the store")
        }
    }

    @Test("settings come from the flag, else the environment, else streetbump.toml")
    func configurationPrecedence() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = CLI.packageRoot.appendingPathComponent("SampleTraces/city/trip-0003.csv").path
        try "# test\ndb = \"from-file.sqlite\"\n[ingest]\nprivacy_trim = 0\n".write(to: dir.appendingPathComponent("streetbump.toml"), atomically: true, encoding: .utf8)
        #expect(try CLI.run(["ingest", trace], in: dir).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("from-file.sqlite").path))
        #expect(try CLI.run(["ingest", trace], in: dir, environment: ["STREETBUMP_DB": "from-env.sqlite"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("from-env.sqlite").path))
        #expect(try CLI.run(["ingest", trace, "--db", "from-flag.sqlite"], in: dir, environment: ["STREETBUMP_DB": "from-env.sqlite"]).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("from-flag.sqlite").path))

        let fromEnv = try CLI.run(["ingest", trace], in: dir, environment: ["STREETBUMP_RADIUS": "wide"])
        #expect(fromEnv.status != 0)
        #expect(fromEnv.stderr.contains("environment variable STREETBUMP_RADIUS: radius = wide is not a number"), "\(fromEnv.stderr)")

        try "radus = 8\n".write(to: dir.appendingPathComponent("streetbump.toml"), atomically: true, encoding: .utf8)
        let bad = try CLI.run(["ingest", trace], in: dir)
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("streetbump.toml: line 1: unknown key 'radus'"), "\(bad.stderr)")

        // A BOM, and a comment after a quoted value, as the README's examples write them.
        try "\u{FEFF}db = \"commented.sqlite\"   # the store\n".write(to: dir.appendingPathComponent("streetbump.toml"), atomically: true, encoding: .utf8)
        #expect(try CLI.run(["ingest", trace], in: dir).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("commented.sqlite").path))
        // Numbers out of range or not whole are refused, naming where they were set.
        for (value, message) in [("2.9", "jobs = 2.9 must be a whole number"), ("1e30", "jobs = 1e30 must be between 1 and 256")] {
            let r = try CLI.run(["ingest", trace], in: dir, environment: ["STREETBUMP_JOBS": value])
            #expect(r.status != 0 && r.stderr.contains("environment variable STREETBUMP_JOBS: \(message)"), "\(r.stderr)")
        }
        // retention_days 0 or less would delete every trip every hour: serve refuses to start.
        let retention = try CLI.run(["serve", "--port", "0", "--no-file"], in: dir, environment: ["STREETBUMP_RETENTION_DAYS": "-1"])
        #expect(retention.status != 0 && retention.stderr.contains("retention_days = -1 must be between 0 and 36500"), "\(retention.stderr)")
        let zero = try CLI.run(["purge", "--db", "commented.sqlite"], in: dir, environment: ["STREETBUMP_RETENTION_DAYS": "0"])
        #expect(zero.status != 0 && zero.stderr.contains("retention_days = 0 must be above 0"), "\(zero.stderr)")
    }

    @Test("known features re-label clusters and are never potholes")
    func knownFeatures() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        #expect(try CLI.run(["ingest", CLI.packageRoot.appendingPathComponent("SampleTraces/city").path, "--db", db, "--privacy-trim", "0"]).status == 0)
        let clusters = try CLI.run(["clusters", "export", "--db", db, "--all", "--format", "csv"]).stdout
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        try #require(!clusters.isEmpty)
        // Declare every cluster's spot a manhole cover.
        let layer = "kind,lat,lon\n" + clusters.map { "manhole,\($0[1]),\($0[2])" }.joined(separator: "\n") + "\n"
        let layerPath = dir.appendingPathComponent("covers.csv")
        try layer.write(to: layerPath, atomically: true, encoding: .utf8)
        let r = try CLI.run(["known-features", "import", layerPath.path, "--db", db])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("imported \(clusters.count) known features"), "\(r.stderr)")
        let after = try CLI.run(["clusters", "export", "--db", db, "--all", "--format", "csv"]).stdout
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(after.count == clusters.count)
        #expect(after.allSatisfy { $0[5] == "casting" && !$0[19].isEmpty }, "every cluster is now a known casting")

        // The same layer again replaces it: no feature twice, and the clusters keep their links.
        let again = try CLI.run(["known-features", "import", layerPath.path, "--db", db])
        #expect(again.status == 0 && again.stderr.contains("replaced"), "\(again.stderr)")
        #expect(try TraceStore(path: db).knownFeatures().count == clusters.count)
        // Latitude and longitude swapped: refused, naming the line, with nothing changed.
        let swapped = dir.appendingPathComponent("swapped.csv")
        try "kind,lat,lon\nmanhole,\(clusters[0][2]),\(clusters[0][1])\n".write(to: swapped, atomically: true, encoding: .utf8)
        let refused = try CLI.run(["known-features", "import", swapped.path, "--db", db])
        #expect(refused.status != 0 && refused.stderr.contains("line 2: lat") && refused.stderr.contains("swapped"), "\(refused.stderr)")
        #expect(try TraceStore(path: db).knownFeatures().count == clusters.count)
        // A county layer with one crossing 60 km out is taken whole; under another name it is a
        // layer of its own, beside the covers.
        let county = dir.appendingPathComponent("county.csv")
        let far = (Double(clusters[0][1])! + 0.54, Double(clusters[0][2])!)
        try "kind,lat,lon\nmanhole,\(clusters[0][1]),\(clusters[0][2])\nmanhole,\(clusters[1 % clusters.count][1]),\(clusters[1 % clusters.count][2])\nrail,\(far.0),\(far.1)\n"
            .write(to: county, atomically: true, encoding: .utf8)
        let countyRun = try CLI.run(["known-features", "import", county.path, "--db", db, "--name", "county-2026"])
        #expect(countyRun.status == 0 && !countyRun.stderr.contains("replaced"), "\(countyRun.stderr)")
        #expect(try TraceStore(path: db).knownFeatures().count == clusters.count + 3)
    }

    @Test("evaluate scores pothole clusters against a truth file")
    func evaluate() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        let city = CLI.packageRoot.appendingPathComponent("SampleTraces/city")
        #expect(try CLI.run(["ingest", city.path, "--db", db, "--privacy-trim", "0"]).status == 0)
        let r = try CLI.run(["evaluate", "--db", db, "--truth", city.appendingPathComponent("truth.csv").path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("truth potholes: 30"), "\(r.stdout)")
        #expect(r.stdout.contains("precision") && r.stdout.contains("F1"))
        let bad = dir.appendingPathComponent("truth.csv")
        try "id,kind,lat,lon\n1,pothole,42.34,-71.07\n2,pothole,42.x,-71.07\n".write(to: bad, atomically: true, encoding: .utf8)
        let e = try CLI.run(["evaluate", "--db", db, "--truth", bad.path])
        #expect(e.status != 0)
        #expect(e.stderr.contains("truth.csv: line 3: field 'lat': '42.x' is not a number"), "\(e.stderr)")
    }
}

@Suite("privacy: purge and retention")
struct PurgeCLITests {
    @Test("purge --trip deletes a resident's trip everywhere; the same file again does not bring it back; the coverage grid; --older-than applies retention")
    func purgeTrip() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        let traces = CLI.packageRoot.appendingPathComponent("SampleTraces/city").path
        #expect(try CLI.run(["ingest", traces, "--db", db, "--privacy-trim", "0"]).status == 0)
        let store = try TraceStore(path: db)
        let before = try store.counts()

        let purge = try CLI.run(["purge", "--trip", "trip-0002", "--db", db])
        #expect(purge.status == 0, "\(purge.stderr)")
        #expect(purge.stderr.contains("purged 1 trips"), "\(purge.stderr)")
        let after = try store.counts()
        #expect(after.trips == before.trips - 1 && after.events < before.events)
        #expect(try store.existingTrips(["trip-0002"]).isEmpty)
        #expect(try store.integrityCheck() == "ok")
        #expect(try store.rowCount("SELECT COUNT(*) FROM coverage WHERE trip_id NOT IN (SELECT id FROM trip)") == 0)
        #expect(try store.rowCount("SELECT COUNT(*) FROM event WHERE trip_id NOT IN (SELECT id FROM trip)") == 0)
        #expect(try store.rowCount("SELECT COUNT(*) FROM source WHERE summary LIKE '%trip-0002%' OR path LIKE '%trip-0002%'") == 0)

        let again = try CLI.run(["ingest", traces + "/trip-0002.csv", "--db", db, "--privacy-trim", "0"])
        #expect(try again.status == 0 && store.existingTrips(["trip-0002"]).isEmpty, "recognised by its hash: \(again.stderr)")
        #expect(try CLI.run(["purge", "--trip", "no-such-trip", "--db", db]).status == 1)

        // Coverage from what is left: squares with metres driven, trips and devices.
        let csv = try CLI.run(["coverage", "export", "--format", "csv", "--cell", "100", "--db", db])
        #expect(csv.status == 0, "\(csv.stderr)")
        let lines = csv.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        #expect(!lines.isEmpty && lines.allSatisfy { $0.count == 8 && Int($0[6])! >= 1 && Int($0[6])! <= after.trips })
        let metres = lines.reduce(0.0) { $0 + Double($1[5])! }
        #expect(metres > 1_000, "the remaining trips drove over a kilometre: \(metres)")
        let geojson = try CLI.run(["coverage", "export", "--cell", "250", "--db", db])
        let root = try JSONSerialization.jsonObject(with: Data(geojson.stdout.utf8)) as? [String: Any]
        let features = root?["features"] as? [[String: Any]] ?? []
        #expect(!features.isEmpty && features.allSatisfy { ($0["geometry"] as? [String: Any])?["type"] as? String == "Polygon" })
        #expect(try CLI.run(["coverage", "export", "--cell", "1", "--db", db]).status != 0)

        let retention = try CLI.run(["purge", "--older-than", "0", "--db", db])
        #expect(try retention.status == 0 && store.counts().trips == 0, "\(retention.stderr)")
        #expect(try store.counts().clusters == 0, "no events, no clusters")
    }
}

@Suite("hostile files")
struct HostileFileTests {
    @Test("bombs, a traversing zip, a zip claiming 65,535 entries, deep JSON, endless lines: each reported, none stops the batch")
    func hostileFiles() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // The committed ones (Tests/Fuzz/regressions, also fuzzing seeds) and three made here.
        let committed = CLI.packageRoot.appendingPathComponent("Tests/Fuzz/regressions")
        for name in try FileManager.default.contentsOfDirectory(atPath: committed.path) {
            try FileManager.default.copyItem(at: committed.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        try Data((String(repeating: "{\"a\":", count: 50_000) + "1" + String(repeating: "}", count: 50_000) + "\n").utf8)
            .write(to: dir.appendingPathComponent("deep.ndjson"))
        try Data(("t,ax,ay,az,lat,lon,speed,accuracy\n" + String(repeating: "1", count: 3_000_000)).utf8).write(to: dir.appendingPathComponent("long-line.csv"))
        try Data(("<gpx><trk><trkseg><trkpt lat=\"" + String(repeating: "a", count: 3_000_000)).utf8).write(to: dir.appendingPathComponent("endless.gpx"))
        try FileManager.default.copyItem(at: CLI.packageRoot.appendingPathComponent("SampleTraces/city/trip-0001.csv"), to: dir.appendingPathComponent("good.csv"))

        // Named one by one: inside a folder, files that do not look like traces are only skipped.
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map { dir.appendingPathComponent($0).path }
        let r = try CLI.run(["detect"] + files)
        #expect(r.status == 1, "some files failed: \(r.stderr)")
        for expected in [
            "bomb.csv.gz: gzip data expands more than 200 times", "bomb.zip: entry 'export/TotalAcceleration.csv' expands more than 200 times",
            "many-entries.zip: the zip has 65535 entries", "traversal.zip: refused: entry '../../etc/Accelerometer.csv' leads out",
            "deep.ndjson:1: field 'a': nested deeper than 32 levels", "long-line.csv:2: line longer than", "endless.gpx:1: track point longer than",
        ] {
            #expect(r.stderr.contains(expected), "\(expected)\n\(r.stderr)")
        }
        #expect(r.stderr.contains("good.csv: csv,") && !r.stdout.split(separator: "\n").dropFirst().isEmpty, "the good file is still read: \(r.stderr)")
    }
}
