import ArgumentParser
import BumpCore
import BumpIngest
import BumpStore

/// `streetbump clusters list|show|export`.
struct Clusters: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Candidate potholes and other clusters: list, show one with its evidence, export for GIS.",
        subcommands: [List.self, Show.self, Export.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List clusters, most confident first.")
        @OptionGroup var store: StoreOptions
        @Option(help: "Only this class: pothole, casting, speed_hump, rail_crossing, noise.")
        var `class`: ClusterClass?
        @Flag(help: "Include noise clusters.")
        var all = false
        @Option(help: "At most this many rows.")
        var limit = 50

        func validate() throws {
            if limit < 0 { throw ValidationError("--limit must be 0 or more") }
        }

        func run() throws {
            let rows = try store.openExisting().clusters(classes: `class`.map { [$0] })
                .filter { all || `class` != nil || $0.cls != .noise }
            var out = ByteWriter.standardOutput()
            try out.write(pad(["id", "class", "conf", "lat", "lon", "events", "trips", "passes", "hit", "sev", "state"], [6, 13, 5, 11, 12, 6, 5, 6, 5, 3, 10]))
            for c in rows.prefix(limit) {
                let s = c.summary
                try out.write(pad([
                    "\(c.id)", c.cls.rawValue, fixed(c.confidence, 2), fixed(c.lat, 6), fixed(c.lon, 6), "\(s.events)",
                    "\(s.trips)", "\(s.passes)", "\(Int((s.hitRatio * 100).rounded()))%", "\(s.severity)", c.state,
                ], [6, 13, 5, 11, 12, 6, 5, 6, 5, 3, 10]))
            }
            if rows.count > limit { try out.write("… \(rows.count - limit) more (--limit)\n") }
            try out.flush()
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One cluster: where, what, why, and every event behind it.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Cluster id.")
        var id: Int64

        func run() throws {
            let db = try store.openExisting()
            guard let c = try db.cluster(id: id) else {
                throw ValidationError("no cluster \(id) in \(store.path); `streetbump clusters list --all` shows them")
            }
            let s = c.summary
            var out = ByteWriter.standardOutput()
            try out.write("""
                cluster \(c.id): \(c.cls.rawValue) (confidence \(fixed(c.confidence, 2))), state \(c.state)
                  at lat \(fixed(c.lat, 7)), lon \(fixed(c.lon, 7)); x \(fixed(c.x, 2)), y \(fixed(c.y, 2)) in \(try db.setting("crs") ?? "?")
                  \(s.events) events from \(s.trips) trips (\(s.devices > 0 ? "\(s.devices) devices" : "devices not reported")); severity \(s.severity) of 5
                  passes: \(s.hits) of \(s.passes) trips hit it in its main direction, \(s.oppositeHits) of \(s.oppositePasses) the other way
                  seen \(Timestamp.iso(s.firstSeen)) … \(Timestamp.iso(s.lastSeen))
                why:

                """)
            for r in c.reasons { try out.write("  - \(r)\n") }
            try out.write("events:\n")
            let widths = [14, 24, 6, 6, 8, 4, 5, 8, 13]
            try out.write(pad(["trip", "time", "speed", "peak", "lat/vert", "sig", "jolts", "dip-str", "kind"], widths))
            for (trip, _, e) in try db.events(ofCluster: id) {
                try out.write(pad([trip, Timestamp.iso(e.t), fixed(e.speed, 1), fixed(e.peak, 2), fixed(e.lateralRatio, 2),
                                   e.signature.rawValue, "\(e.jolts)", e.dipToStrike.isFinite ? fixed(e.dipToStrike, 2) : "-",
                                   e.kind.rawValue], widths))
            }
            try out.flush()
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export clusters as GeoJSON (RFC 7946, WGS84 lon/lat; CRS x/y as properties) or CSV.")
        @OptionGroup var store: StoreOptions
        @Option(help: "geojson or csv.")
        var format: ExportOutput.Format = .geojson
        @Option(help: "Output file (default: stdout).")
        var out: String?
        @Option(help: "Only this class.")
        var `class`: ClusterClass?
        @Flag(help: "Include noise clusters.")
        var all = false

        func run() throws {
            let db = try store.openExisting()
            let rows = try db.clusters(classes: `class`.map { [$0] }).filter { all || `class` != nil || $0.cls != .noise }
            let crs = try db.setting("crs") ?? ""
            let text = format == .csv ? ClusterExport.csv(rows) : ClusterExport.geoJSON(rows, crs: crs)
            try ExportOutput.write(text, to: out, what: "\(rows.count) clusters")
        }
    }
}

extension ClusterClass: ExpressibleByArgument {}

func fixed(_ v: Double, _ places: Int) -> String { TraceWriter.fixed(v, places: places) }

/// Left-aligned columns.
func pad(_ cells: [String], _ widths: [Int]) -> String {
    var line = ""
    for (c, w) in zip(cells, widths) { line += c + String(repeating: " ", count: max(1, w - c.count + 1)) }
    return line.trimmingTrailingSpaces + "\n"
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
