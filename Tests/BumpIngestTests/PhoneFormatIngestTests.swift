import BumpCore
import CZlib
import Foundation
import Testing

@testable import BumpIngest

// One simulated trip written in every phone format (PhoneExportWriter, quirks included), read
// back through the real file, folder, zip and gzip paths, must give the canonical CSV's events.

/// One simulated trip: its rows, start and the events streetbump finds in its canonical CSV.
private enum OneTrip {
    struct Trip: Sendable {
        let rows: [TraceRow]
        let start: Double
        let canonicalEvents: [BumpEvent]
    }

    static let shared: Trip = {
        var config = SimulationConfig()
        config.trips = 1
        config.duration = 300
        config.rate = 100
        config.seed = 5
        let simulation = CitySimulation(config: config)
        var sim = simulation.trip(0)
        var rows: [TraceRow] = []
        var csv = Array(TraceWriter.csvHeader.utf8)
        while let row = sim.next() {
            rows.append(row)
            TraceWriter.appendCSV(row, to: &csv)
        }
        let dir = temporaryDirectory()
        let path = dir + "/trip.csv"
        _ = FileManager.default.createFile(atPath: path, contents: Data(csv))
        let events = try! DetectedTrace.file(path, detector: DetectorConfig()).trips.flatMap(\.events)
        return Trip(rows: rows, start: sim.plan.start, canonicalEvents: events)
    }()
}

private func temporaryDirectory() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("streetbump-phones-\(UUID().uuidString)").path
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Writes the trip in `style` into a fresh folder; returns the folder and the files' relative paths.
private func export(_ style: PhoneExportWriter.Style) throws -> (dir: String, files: [String: [UInt8]]) {
    let trip = OneTrip.shared
    var writer = PhoneExportWriter(style: style, start: trip.start)
    for row in trip.rows { writer.append(row) }
    writer.finish()
    let dir = temporaryDirectory() + "/\(style.rawValue)"
    for (file, bytes) in writer.files {
        let path = dir + "/" + file
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }
    return (dir, writer.files)
}

private func events(_ input: TraceInput, options: ReadOptions = ReadOptions()) throws -> (events: [BumpEvent], outcome: ReadOutcome) {
    let detected = try DetectedTrace.read(input, options: options, detector: DetectorConfig())
    return (detected.trips.flatMap(\.events), detected.outcome)
}

/// Same count, times within a sample (times of day only when the format has no date), positions within a metre.
private func expectSameEvents(_ got: [BumpEvent], _ label: String, timeOfDayOnly: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) {
    let want = OneTrip.shared.canonicalEvents
    #expect(!want.isEmpty, "the simulated trip has events", sourceLocation: sourceLocation)
    #expect(got.count == want.count, "\(label): \(got.count) events, canonical CSV \(want.count)", sourceLocation: sourceLocation)
    for (a, b) in zip(got, want) {
        let dt = timeOfDayOnly
            ? abs((a.t - b.t).truncatingRemainder(dividingBy: 86_400_000)) : abs(a.t - b.t)
        #expect(dt <= 12, "\(label): event at \(a.t) vs \(b.t)", sourceLocation: sourceLocation)
        let d = LocalGeodesy.distance((a.lat, a.lon), (b.lat, b.lon))
        #expect(d <= 1.0, "\(label): event \(d) m from the canonical one", sourceLocation: sourceLocation)
    }
}

@Suite("phone formats give the canonical CSV's events")
struct PhoneFormatIngestTests {
    @Test("Sensor Logger Android folder and iOS folder (accelerometer + gravity, axes flipped)")
    func sensorLogger() throws {
        for style in [PhoneExportWriter.Style.sensorLoggerAndroid, .sensorLoggerIOS] {
            let (dir, _) = try export(style)
            let inputs = try TraceInputs.find([dir])
            // Android's Gyroscope.csv is reported as left out, not read.
            #expect(inputs.filter { if case .leftOut = $0.input.kind { false } else { true } }.count == 1)
            guard case .sensorLogger = inputs[0].input.kind else { Issue.record("\(style): not a Sensor Logger recording"); continue }
            let (got, outcome) = try events(inputs[0].input)
            expectSameEvents(got, style.rawValue)
            #expect(outcome.format == .sensorLogger && outcome.issues.isEmpty, "\(outcome.issues.prefix(3))")
            if style == .sensorLoggerIOS {
                #expect(outcome.detail.contains("axes negated"), "\(outcome.detail)")
                #expect(outcome.tripDevices == ["iPhone 15"])
            } else {
                #expect(outcome.detail.contains("duplicate rows dropped"), "\(outcome.detail)")
            }
        }
    }

    @Test("Sensor Logger zip (stored and deflated entries in a folder) equals the folder")
    func sensorLoggerZip() throws {
        let (dir, files) = try export(.sensorLoggerIOS)
        let zip = dir + ".zip"
        try ZipFixture.write(files.map { ("rec/" + $0.key, $0.value, $0.key.hasPrefix("Acc")) }, to: zip)
        let inputs = try TraceInputs.find([zip])
        guard case .sensorLogger(let container) = inputs.first?.input.kind, container.isZip else { Issue.record("not read as a Sensor Logger zip"); return }
        let (got, zipped) = try events(inputs[0].input)
        expectSameEvents(got, "zip")
        let (_, folder) = try events(try TraceInputs.find([dir])[0].input)
        #expect(zipped.hash == folder.hash, "the same export hashes the same as folder or zip")
    }

    @Test("a Finder zip (__MACOSX, ._ files, .DS_Store) with a README beside the folder is read")
    func finderZip() throws {
        let (dir, files) = try export(.sensorLoggerAndroid)
        let zip = dir + "-finder.zip"
        var entries = files.map { ("drive/" + $0.key, $0.value, true) }
        entries += [
            ("README.txt", Array("recorded on the 8:15 bus\n".utf8), false),
            ("__MACOSX/drive/._TotalAcceleration.csv", [0, 5, 22, 7, 0, 2, 0, 0], false),
            ("drive/.DS_Store", [0, 0, 0, 1, 66, 117, 100, 49], false),
        ]
        try ZipFixture.write(entries, to: zip)
        let inputs = try TraceInputs.find([zip])
        guard case .sensorLogger = inputs.first?.input.kind else { Issue.record("not read: \(inputs.map(\.input.kind))"); return }
        let (got, outcome) = try events(inputs[0].input)
        expectSameEvents(got, "Finder zip")
        #expect(outcome.detail.contains("Android"), "\(outcome.detail)")
        let leftOut = inputs.compactMap { if case .leftOut = $0.input.kind { $0.input.path } else { nil } }
        #expect(leftOut.contains(zip + ":README.txt") && leftOut.contains(zip + ":drive/Gyroscope.csv"), "\(leftOut)")
        #expect(!leftOut.contains { $0.contains("__MACOSX") || $0.contains(".DS_Store") }, "Finder's junk is not reported: \(leftOut)")
    }

    @Test("a folder is one export only when it looks like one; other files and folders are read or reported")
    func exportFolders() throws {
        let dir = temporaryDirectory()
        let phyphox = "\"Time (s)\",\"Acceleration x (m/s^2)\",\"Acceleration y (m/s^2)\",\"Acceleration z (m/s^2)\"\n0,0,0,9.8\n0.01,0,0,9.8\n"
        try phyphox.write(toFile: dir + "/drive1.csv", atomically: true, encoding: .utf8)
        try phyphox.write(toFile: dir + "/drive2.csv", atomically: true, encoding: .utf8)
        try "t,ax,ay,az\n1780000000000,0,0,9.8\n".write(toFile: dir + "/trip.csv", atomically: true, encoding: .utf8)
        let three = try TraceInputs.find([dir])
        #expect(three.count == 3, "\(three.map(\.input.path))")
        #expect(three.allSatisfy { if case .file = $0.input.kind { true } else { false } }, "\(three.map(\.input.kind))")

        // A lone Sensor Logger acceleration file does not make its folder an export either.
        let lone = temporaryDirectory()
        try "time,seconds_elapsed,z,y,x\n1780000000000000000,0,9.8,0,0\n".write(toFile: lone + "/TotalAcceleration.csv", atomically: true, encoding: .utf8)
        try "t,ax,ay,az\n1780000000000,0,0,9.8\n".write(toFile: lone + "/trip.csv", atomically: true, encoding: .utf8)
        #expect(try TraceInputs.find([lone]).count == 2)

        // A real export with a stray trip and a subfolder: the export is one input, the stray
        // file is reported as left out, the subfolder is read.
        let (export, _) = try export(.sensorLoggerAndroid)
        try "t,ax,ay,az\n1780000000000,0,0,9.8\n".write(toFile: export + "/stray.csv", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: export + "/more", withIntermediateDirectories: true)
        try "t,ax,ay,az\n1780000000000,0,0,9.8\n".write(toFile: export + "/more/other.csv", atomically: true, encoding: .utf8)
        let found = try TraceInputs.find([export])
        let kinds = Dictionary(found.map { ($0.input.path, $0.input.kind) }, uniquingKeysWith: { a, _ in a })
        guard case .sensorLogger = kinds[export] else { Issue.record("no export: \(found.map(\.input.path))"); return }
        guard case .leftOut = kinds[export + "/stray.csv"], case .leftOut = kinds[export + "/Gyroscope.csv"] else {
            Issue.record("left-out files not reported: \(found.map(\.input.kind))"); return
        }
        guard case .file = kinds[export + "/more/other.csv"] else { Issue.record("subfolder not read: \(found.map(\.input.path))"); return }
        #expect(found.count == 4)
    }

    @Test("a link back to a parent folder is not followed round: each file is found once")
    func linkLoop() throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/day", withIntermediateDirectories: true)
        try "t,ax,ay,az\n1780000000000,0,0,9.8\n".write(toFile: dir + "/day/trip.csv", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/day/back", withDestinationPath: "..")
        // A link to a folder that is not on the way down is read as usual.
        let other = temporaryDirectory()
        try "t,ax,ay,az\n1780000000000,0,0,9.8\n".write(toFile: other + "/linked.csv", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/elsewhere", withDestinationPath: other)
        let found = try TraceInputs.find([dir]).map(\.input.path)
        #expect(found == [dir + "/day/trip.csv", dir + "/elsewhere/linked.csv"], "\(found.prefix(5))")
    }

    @Test("metadata is read through gzip, with a size cap")
    func metadataThroughGzip() throws {
        let (dir, files) = try export(.sensorLoggerIOS)
        try FileManager.default.removeItem(atPath: dir + "/Metadata.csv")
        _ = FileManager.default.createFile(atPath: dir + "/Metadata.csv.gz", contents: Data(try ZipFixture.gzip(files["Metadata.csv"]!)))
        let inputs = try TraceInputs.find([dir])
        let (got, outcome) = try events(inputs[0].input)
        #expect(outcome.detail.contains("axes negated"), "the gzip'd metadata says iOS: \(outcome.detail)")
        expectSameEvents(got, "Metadata.csv.gz")
        let big = Array("platform\nios\n".utf8) + [UInt8](repeating: UInt8(ascii: " "), count: 2 << 20)
        _ = FileManager.default.createFile(atPath: dir + "/Metadata.csv.gz", contents: Data(try ZipFixture.gzip(big)))
        #expect(throws: FileError.self) { try events(try TraceInputs.find([dir])[0].input) }
    }

    @Test("Physics Toolbox, comma and semicolon/decimal-comma locales, and gzip")
    func physicsToolbox() throws {
        for style in [PhoneExportWriter.Style.physicsToolbox, .physicsToolboxDecimalComma] {
            let (dir, _) = try export(style)
            let (got, outcome) = try events(.file(dir + "/physics-toolbox.csv"))
            #expect(outcome.format == .physicsToolbox && outcome.issues.isEmpty, "\(outcome.issues.prefix(3))")
            // Android writes the time of day only; the iOS-style dated times are epoch times.
            expectSameEvents(got, style.rawValue, timeOfDayOnly: style == .physicsToolbox)
        }
        let (dir, files) = try export(.physicsToolbox)
        let gz = dir + "/physics-toolbox.csv.gz"
        _ = FileManager.default.createFile(atPath: gz, contents: Data(try ZipFixture.gzip(files["physics-toolbox.csv"]!)))
        let (got, outcome) = try events(.file(gz))
        #expect(outcome.format == .physicsToolbox)
        expectSameEvents(got, "gzip", timeOfDayOnly: true)
    }

    @Test("phyphox exports, comma and semicolon/decimal-comma")
    func phyphox() throws {
        for style in [PhoneExportWriter.Style.phyphox, .phyphoxDecimalComma] {
            let (dir, _) = try export(style)
            let inputs = try TraceInputs.find([dir])
            guard case .phyphox = inputs.first?.input.kind else { Issue.record("\(style): not a phyphox recording"); continue }
            let (got, outcome) = try events(inputs[0].input)
            #expect(outcome.issues.isEmpty, "\(outcome.issues.prefix(3))")
            expectSameEvents(got, style.rawValue)
        }
    }

    @Test("GPX track joined with an accelerometer-only file")
    func gpx() throws {
        let (dir, _) = try export(.gpx)
        let inputs = try TraceInputs.find([dir])
        #expect(inputs.count == 1)
        guard case .gpxJoined = inputs.first?.input.kind else { Issue.record("GPX not paired: \(inputs.map(\.input.path))"); return }
        let (got, outcome) = try events(inputs[0].input)
        #expect(outcome.format == .gpx && outcome.issues.isEmpty)
        #expect(!outcome.detail.contains("do not overlap"), "\(outcome.detail)")
        expectSameEvents(got, "gpx")
    }

    @Test("a GPX track and an accelerometer file whose clocks never meet: said, not silently eventless")
    func gpxClocksApart() throws {
        let (dir, _) = try export(.gpx)
        let csv = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".csv") })
        let path = dir + "/" + csv
        // The accelerometer in seconds since the start, the track with dates.
        let relative = secondsSinceStart(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n"))
        try (relative.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let input = try #require(try TraceInputs.find([dir]).first?.input)
        let (got, outcome) = try events(input)
        #expect(got.isEmpty)
        #expect(outcome.detail.contains("do not overlap, so nothing can be placed; do both files carry dates?"), "\(outcome.detail)")
        #expect(outcome.detail.contains("1970-01-01T00:00:00Z"), "\(outcome.detail)")
    }

    @Test("a research CSV through a column map with units and sentinels")
    func columnMap() throws {
        let (dir, _) = try export(.columns)
        let flags = PhoneExportWriter.columnsFlags
        let layout = try DelimitedLayout(columnMap: PhoneExportWriter.columnsMap, accelerationUnit: flags[1], timeUnit: flags[3], missing: flags[5])
        let (got, outcome) = try events(.file(dir + "/research.csv"), options: ReadOptions(format: .columns, layout: layout))
        #expect(outcome.format == .columns && outcome.issues.isEmpty)
        expectSameEvents(got, "columns")
    }

    @Test("a single-file format through an upload (gzip body)")
    func upload() throws {
        let (_, files) = try export(.physicsToolboxDecimalComma)
        let body = try ZipFixture.gzip(files["physics-toolbox.csv"]!)
        let upload = TraceUpload(name: "phone", format: nil, gzip: nil, limits: UploadLimits(), detector: DetectorConfig())
        for start in stride(from: 0, to: body.count, by: 10_000) {
            try Array(body[start..<min(start + 10_000, body.count)]).withUnsafeBytes { try upload.consume($0) }
        }
        let detected = try upload.finish()
        #expect(detected.outcome.format == .physicsToolbox)
        expectSameEvents(detected.trips.flatMap(\.events), "upload")
    }

    @Test("an unknown file says what its header holds, the nearest format and the --columns line")
    func unknownFile() throws {
        let path = temporaryDirectory() + "/fleet.csv"
        try "ts_ms,acc_x,acc_y,acc_z,gps_lat,gps_lon\n1,2,3,4,5,6\n".write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try events(.file(path))
            Issue.record("read an unknown file")
        } catch {
            let text = "\(error)"
            #expect(text.contains("fleet.csv:1: not a trace format streetbump recognises"), "\(text)")
            #expect(text.contains("header (6 columns): ts_ms, acc_x, acc_y, acc_z, gps_lat, gps_lon"), "\(text)")
            #expect(text.contains("nearest known format:"), "\(text)")
            #expect(text.contains("--columns t=ts_ms,ax=acc_x,ay=acc_y,az=acc_z,lat=gps_lat,lon=gps_lon --time-unit ms"), "\(text)")
        }
    }
}

@Suite("zip archives are read safely")
struct ZipArchiveTests {
    private func zip(_ entries: [(String, [UInt8], Bool)], encrypted: Bool = false) throws -> String {
        let path = temporaryDirectory() + "/x.zip"
        try ZipFixture.write(entries, to: path, encrypted: encrypted)
        return path
    }

    private func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return ""
        } catch { return "\(error)" }
    }

    @Test func pathTraversalIsRefused() throws {
        for name in ["../evil.csv", "rec/../../evil.csv", "/etc/evil.csv", "rec\\..\\evil.csv"] {
            let path = try zip([(name, Array("t,ax,ay,az\n".utf8), false)])
            let text = message { _ = try ZipArchive(path: path) }
            #expect(text.contains("refused: entry '\(name)'"), "\(name): \(text)")
        }
    }

    @Test func encryptedEntriesAndBombsAreRefused() throws {
        let encrypted = try zip([("a.csv", Array("t\n".utf8), false)], encrypted: true)
        #expect(message { _ = try ZipArchive(path: encrypted) }.contains("encrypted"))
        let zeros = [UInt8](repeating: 0x30, count: 4 << 20)
        let bomb = try zip([("TotalAcceleration.csv", zeros, true)])
        #expect(message { _ = try ZipArchive(path: bomb) }.contains("zip bomb"))
        var limits = UploadLimits.files
        limits.maxDecompressedBytes = 1 << 20
        #expect(message { _ = try ZipArchive(path: try zip([("a.csv", [UInt8](repeating: 1, count: 2 << 20), false)]), limits: limits) }.contains("declares"))
    }

    /// The offset of each central-directory record of the zip at `path`.
    private func centralRecords(_ bytes: [UInt8]) -> [Int] {
        func u32(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24 }
        func u16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        let eocd = bytes.count - 22
        var p = u32(eocd + 16), out: [Int] = []
        for _ in 0..<u16(eocd + 10) {
            out.append(p)
            p += 46 + u16(p + 28) + u16(p + 30) + u16(p + 32)
        }
        return out
    }

    private func patch(_ path: String, _ change: (inout [UInt8], [Int]) -> Void) throws {
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        change(&bytes, centralRecords(bytes))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    private func put32(_ v: Int, _ bytes: inout [UInt8], at i: Int) {
        for k in 0..<4 { bytes[i + k] = UInt8(v >> (8 * k) & 0xFF) }
    }

    @Test func overlappingAndOutOfRangeEntriesAreRefused() throws {
        let text = Array(String(repeating: "time,seconds_elapsed,z,y,x\n", count: 100).utf8)
        // The second entry's record points at the first entry's bytes.
        let overlap = try zip([("a.csv", text, true), ("b.csv", text, true)])
        try patch(overlap) { bytes, records in put32(0, &bytes, at: records[1] + 42) }
        #expect(message { _ = try ZipArchive(path: overlap) }.contains("overlap"), "\(message { _ = try ZipArchive(path: overlap) })")
        // Data that runs into the central directory.
        let long = try zip([("a.csv", text, false)])
        try patch(long) { bytes, records in
            put32(text.count + 40, &bytes, at: records[0] + 20)
            put32(text.count + 40, &bytes, at: records[0] + 24)
        }
        #expect(message { _ = try ZipArchive(path: long) }.contains("runs past"), "\(message { _ = try ZipArchive(path: long) })")
        // A local header beyond the entries.
        let beyond = try zip([("a.csv", text, false)])
        try patch(beyond) { bytes, records in put32(records[0], &bytes, at: records[0] + 42) }
        #expect(message { _ = try ZipArchive(path: beyond) }.contains("local header"), "\(message { _ = try ZipArchive(path: beyond) })")
    }

    @Test func entryCountIsCappedAndLookupsStayFast() throws {
        let row = Array("time,seconds_elapsed,z,y,x\n1780000000000000000,0,9.8,0,0\n".utf8)
        var entries = (0..<(ZipArchive.maxEntries - 2)).map { ("rec/f\($0).txt", [UInt8](), false) }
        entries += [("rec/TotalAcceleration.csv", row, false), ("rec/Metadata.csv", Array("platform\nandroid\n".utf8), false)]
        let full = try zip(entries)
        let started = ContinuousClock.now
        let inputs = try TraceInputs.find([full])
        #expect(ContinuousClock.now - started < .seconds(20))
        guard case .sensorLogger = inputs.first?.input.kind else { Issue.record("\(inputs.first?.input.kind as Any)"); return }
        #expect(inputs.count == ZipArchive.maxEntries - 1, "the recording and every entry it leaves out")
        entries.append(("rec/one-more.txt", [], false))
        let over = try zip(entries)
        #expect(message { _ = try ZipArchive(path: over) }.contains("more than 10000"))
    }

    @Test func aBadZipNamedOnTheCommandLineDoesNotStopTheOthers() throws {
        let dir = temporaryDirectory()
        try "not a zip at all".write(toFile: dir + "/broken.zip", atomically: true, encoding: .utf8)
        try "t,ax,ay,az\n1780000000000,0,0,9.8\n".write(toFile: dir + "/trip.csv", atomically: true, encoding: .utf8)
        let inputs = try TraceInputs.find([dir + "/broken.zip", dir + "/trip.csv"])
        #expect(inputs.count == 2)
        guard case .unreadable(let why) = inputs.first?.input.kind else { Issue.record("\(inputs.map(\.input.kind))"); return }
        #expect(why.contains("not a zip file"))
        guard case .file = inputs.last?.input.kind else { Issue.record("\(inputs.map(\.input.kind))"); return }
    }

    @Test func entriesAreReadAndCheckedAgainstTheirCRC() throws {
        let text = Array(String(repeating: "time,seconds_elapsed,z,y,x\n", count: 1000).utf8)
        let path = try zip([("a.csv", text, true), ("b.csv", text, false)])
        let archive = try ZipArchive(path: path)
        for entry in archive.entries { #expect(try archive.contents(of: entry, limit: 1 << 20) == text) }
        // Corrupt one stored byte: the CRC no longer matches.
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let at = archive.entries[1].localHeaderOffset + 30 + "b.csv".utf8.count + 10  // inside b.csv's data
        bytes[at] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let b = try ZipArchive(path: path).entries[1]
        #expect(message { _ = try ZipArchive(path: path).contents(of: b) }.contains("CRC-32 mismatch"))
    }
}

@Suite("decompression hands out bounded pieces")
struct BoundedInflationTests {
    /// CSV text that deflates about 30 times: a 1 MiB compressed chunk would be ~30 MiB at once.
    private func text(_ bytes: Int) -> [UInt8] {
        var out: [UInt8] = []
        var state: UInt64 = 7
        while out.count < bytes {
            state = state &* 6_364_136_223_846_793_005 &+ 1
            out += Array("1780000000,0.\(state >> 61),0,9.8\n".utf8)
        }
        return out
    }

    @Test func gzipAndZipEntriesComeOutAtMostOneMebibyteACall() throws {
        let plain = text(40 << 20)
        let dir = temporaryDirectory()
        let gz = dir + "/big.csv.gz"
        _ = FileManager.default.createFile(atPath: gz, contents: Data(try ZipFixture.gzip(plain)))
        let zip = dir + "/big.zip"
        try ZipFixture.write([("TotalAcceleration.csv", plain, true)], to: zip)
        let archive = try ZipArchive(path: zip)
        for source in [try ByteSource(path: gz), try archive.source(for: archive.entries[0])] {
            var total = 0, most = 0, calls = 0
            while true {
                var now = 0
                guard try source.next({ now += $0.count }) else { break }
                most = max(most, now)
                total += now
                calls += 1
            }
            #expect(total == plain.count && most <= ByteSource.maxOutput, "\(source.path): at most \(most) bytes a call, \(total) in all")
            #expect(calls >= plain.count / ByteSource.maxOutput)
        }
    }
}

/// Writes zip and gzip files for the tests (streetbump only reads them).
enum ZipFixture {
    /// A zip of `entries` (name, bytes, deflate?).
    static func write(_ entries: [(String, [UInt8], Bool)], to path: String, encrypted: Bool = false) throws {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func u16(_ v: Int, _ to: inout [UInt8]) { to += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: Int, _ to: inout [UInt8]) { u16(v & 0xFFFF, &to); u16(v >> 16 & 0xFFFF, &to) }
        for (name, bytes, deflate) in entries {
            let data = deflate ? try raw(bytes) : bytes
            let crc = bytes.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, UInt32($0.count))) }
            let offset = out.count
            let nameBytes = Array(name.utf8)
            for (signature, isCentral) in [(0x0403_4B50, false), (0x0201_4B50, true)] {
                var h: [UInt8] = []
                u32(signature, &h)
                if isCentral { u16(20, &h) }
                u16(20, &h)
                u16(encrypted ? 1 : 0, &h)
                u16(deflate ? 8 : 0, &h)
                u32(0, &h)  // time, date
                u32(crc, &h)
                u32(data.count, &h)
                u32(bytes.count, &h)
                u16(nameBytes.count, &h)
                u16(0, &h)
                if isCentral {
                    u16(0, &h); u16(0, &h); u16(0, &h); u32(0, &h)
                    u32(offset, &h)
                    central += h + nameBytes
                } else {
                    out += h + nameBytes + data
                }
            }
        }
        let directoryOffset = out.count
        out += central
        var end: [UInt8] = []
        u32(0x0605_4B50, &end)
        u32(0, &end)
        u16(entries.count, &end)
        u16(entries.count, &end)
        u32(central.count, &end)
        u32(directoryOffset, &end)
        u16(0, &end)
        _ = FileManager.default.createFile(atPath: path, contents: Data(out + end))
    }

    /// Raw deflate (no header), as zip stores it.
    static func raw(_ bytes: [UInt8]) throws -> [UInt8] { try compress(bytes, windowBits: -15) }

    /// A gzip file's bytes.
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] { try compress(bytes, windowBits: 15 + 16) }

    private static func compress(_ bytes: [UInt8], windowBits: Int32) throws -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, 6, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw FileError(path: "zlib", message: "deflateInit2 failed")
        }
        defer { deflateEnd(&stream) }
        var input = bytes
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
        let produced: Int = input.withUnsafeMutableBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = inp.baseAddress
                stream.avail_in = UInt32(inp.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                _ = deflate(&stream, Z_FINISH)
                return out.count - Int(stream.avail_out)
            }
        }
        return Array(output.prefix(produced))
    }
}
