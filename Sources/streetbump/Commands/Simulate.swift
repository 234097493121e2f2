import ArgumentParser
import BumpCore
import BumpIngest

/// `streetbump simulate`: a deterministic synthetic city with trips and ground truth.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a city of trips with known potholes, castings, speed humps and rail crossings.",
        discussion: """
            Writes one canonical CSV per trip (or one time-ordered NDJSON file of all trips), \
            truth.csv (id,kind,lat,lon,severity), crossings.csv (which trip met which feature when, \
            with which wheels) and trips.csv (device, start, rate).
            """)

    @Option(help: "Output directory (created if missing).")
    var out: String

    @Option(help: "Number of trips.")
    var trips = 12

    @Option(help: "Seconds per trip (default 15 minutes, a typical urban trip).")
    var duration = 900.0

    @Option(help: "Accelerometer rate in Hz for every trip (5-400); default mixes 5-200 Hz.")
    var rate: Double?

    @Option(help: "Random seed: the same seed gives the same city and trips.")
    var seed: UInt64 = 1

    @Option(help: "csv (a file per trip), ndjson (one file, trips interleaved in time order), or a phone app's export per trip: sensorlogger (a folder), physicstoolbox, phyphox (a folder), gpx (a track and an accelerometer CSV), columns (a research CSV for --columns \(PhoneExportWriter.columnsMap) \(PhoneExportWriter.columnsFlags.joined(separator: " "))).")
    var format: TraceFormat = .csv

    @Option(help: "City size in blocks east and north.")
    var blocks = 6

    /// Where an export's file goes: multi-file exports in a folder per trip, single files named after the trip.
    static func exportPath(out: String, trip: String, style: PhoneExportWriter.Style, file: String) -> String {
        switch style {
        case .physicsToolbox, .physicsToolboxDecimalComma, .columns: "\(out)/\(trip).csv"
        case .gpx: file.hasSuffix(".gpx") ? "\(out)/\(trip).gpx" : "\(out)/\(trip).csv"
        default: "\(out)/\(trip)/\(file)"
        }
    }

    func validate() throws {
        if let rate, !(5...400).contains(rate) { throw ValidationError("--rate must be between 5 and 400 Hz, got \(rate)") }
        if trips < 1 { throw ValidationError("--trips must be at least 1") }
        if duration < 10 { throw ValidationError("--duration must be at least 10 seconds") }
    }

    func run() throws {
        var config = SimulationConfig()
        config.trips = trips
        config.duration = duration
        config.rate = rate
        config.seed = seed
        config.city.blocksEast = blocks
        config.city.blocksNorth = blocks
        // Feature counts grow with the city's street length.
        let scale = Double(blocks * blocks) / 36
        config.city.potholes = max(3, Int(30 * scale))
        config.city.castings = max(4, Int(45 * scale))
        config.city.speedHumps = max(1, Int(6 * scale))
        config.city.railCrossings = max(1, Int(3 * scale))
        let simulation = CitySimulation(config: config)
        try FileSystem.makeDirectory(out)

        var crossings: [FeatureCrossing] = []
        var rows = 0
        switch format {
        case .csv:
            for i in simulation.plans.indices {
                var sim = simulation.trip(i)
                var file = try ByteWriter(creating: "\(out)/\(sim.plan.name).csv")
                file.buffer.append(contentsOf: TraceWriter.csvHeader.utf8)
                while let row = sim.next() {
                    TraceWriter.appendCSV(row, to: &file.buffer)
                    rows += 1
                    try file.flushIfFull()
                }
                try file.close()
                crossings.append(contentsOf: sim.crossings)
            }
        case .ndjson:
            var merged = InterleavedTrips(simulation.plans.indices.map { simulation.trip($0) })
            var file = try ByteWriter(creating: "\(out)/trips.ndjson")
            while let (row, trip) = merged.next() {
                let plan = simulation.plans[trip]
                TraceWriter.appendNDJSON(row, trip: plan.name, device: plan.device, to: &file.buffer)
                rows += 1
                try file.flushIfFull()
            }
            try file.close()
            crossings = merged.crossings
        case .sensorLogger, .physicsToolbox, .phyphox, .gpx, .columns:
            let style: PhoneExportWriter.Style = switch format {
            case .sensorLogger: .sensorLoggerAndroid
            case .physicsToolbox: .physicsToolbox
            case .phyphox: .phyphox
            case .gpx: .gpx
            default: .columns
            }
            for i in simulation.plans.indices {
                var sim = simulation.trip(i)
                var export = PhoneExportWriter(style: style, start: sim.plan.start)
                var writers: [String: ByteWriter] = [:]
                func flush() throws {
                    for (file, bytes) in export.takeFiles() where !bytes.isEmpty || writers[file] == nil {
                        let path = Self.exportPath(out: out, trip: sim.plan.name, style: style, file: file)
                        if writers[path] == nil {
                            if let slash = path.lastIndex(of: "/") { try FileSystem.makeDirectory(String(path[..<slash])) }
                            writers[path] = try ByteWriter(creating: path)
                        }
                        writers[path]!.buffer.append(contentsOf: bytes)
                        try writers[path]!.flushIfFull()
                    }
                }
                while let row = sim.next() {
                    export.append(row)
                    rows += 1
                    if rows % 65_536 == 0 { try flush() }
                }
                export.finish()
                try flush()
                for key in writers.keys { try writers[key]!.close() }
                crossings.append(contentsOf: sim.crossings)
            }
        }
        crossings.sort { ($0.trip, $0.t) < ($1.trip, $1.t) }
        try FileSystem.writeText(simulation.truthCSV(), to: "\(out)/truth.csv")
        try FileSystem.writeText(CitySimulation.crossingsCSV(crossings, plans: simulation.plans), to: "\(out)/crossings.csv")
        try FileSystem.writeText(simulation.tripsCSV(), to: "\(out)/trips.csv")
        let hits = crossings.filter(\.hit).count
        var err = ByteWriter.standardError()
        try err.write("simulated \(trips) trips, \(rows) rows, \(simulation.city.features.count) road features, \(hits) wheel hits -> \(out)\n")
        try err.flush()
    }
}

