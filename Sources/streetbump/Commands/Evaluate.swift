import ArgumentParser
import BumpCore
import BumpIngest
import BumpStore

/// `streetbump evaluate`: pothole clusters against surveyed (or simulated) truth.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Precision, recall, F1 and location error of pothole clusters against a truth file.",
        discussion: """
            The truth file is CSV with lat,lon columns and optionally kind (only rows of kind pothole count \
            then) and id. With --crossings (simulate's crossings.csv), only potholes hit by at least \
            --min-hits trips count: what no trip touched cannot be found.
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "Truth CSV (id,kind,lat,lon[,severity]).")
    var truth: String

    @Option(help: "Metres within which a cluster matches a truth pothole.")
    var radius = 8.0

    @Option(help: "simulate's crossings.csv, to count only potholes trips actually hit.")
    var crossings: String?

    @Option(help: "With --crossings: distinct trips that must have hit a pothole for it to count.")
    var minHits = 2

    func run() throws {
        let table = try CSVTable(path: truth)
        guard let latColumn = table.column("lat", "latitude"), let lonColumn = table.column("lon", "longitude", "lng") else {
            throw ValidationError("\(truth): needs lat and lon columns (found: \(table.header.joined(separator: ", ")))")
        }
        let kindColumn = table.column("kind"), idColumn = table.column("id")
        var hitTrips: [String: Set<String>] = [:]
        if let crossings {
            guard idColumn != nil else { throw ValidationError("\(truth): --crossings needs an id column to join on") }
            let c = try CSVTable(path: crossings)
            guard let f = c.column("feature"), let w = c.column("wheels"), let t = c.column("trip") else {
                throw ValidationError("\(crossings): needs trip, feature and wheels columns (found: \(c.header.joined(separator: ", ")))")
            }
            for row in c.rows where !row.cells[w].isEmpty { hitTrips[row.cells[f], default: []].insert(row.cells[t]) }
        }
        var truthPoints: [(lat: Double, lon: Double)] = []
        var allPotholes: [(lat: Double, lon: Double)] = []
        var excluded = 0
        for row in table.rows {
            if let k = kindColumn, row.cells[k] != "pothole" { continue }
            let lat = try table.number(row, latColumn), lon = try table.number(row, lonColumn)
            allPotholes.append((lat, lon))
            if crossings != nil, let i = idColumn, hitTrips[row.cells[i], default: []].count < minHits {
                excluded += 1
                continue
            }
            truthPoints.append((lat, lon))
        }
        let db = try store.openExisting()
        let clusters = try db.clusters(classes: [.pothole])
        let (r, _) = Evaluation.match(predicted: clusters.map { ($0.lat, $0.lon) }, truth: truthPoints, radius: radius)
        var out = ByteWriter.standardOutput()
        try out.write("""
            pothole clusters: \(r.predicted), truth potholes: \(r.truth)\(crossings != nil ? " (\(excluded) hit by fewer than \(minHits) trips left out)" : ""), matched within \(fixed(radius, 1)) m: \(r.matched)
            precision \(fixed(r.precision, 3))  recall \(fixed(r.recall, 3))  F1 \(fixed(r.f1, 3))
            location error: \(r.matched > 0 ? "mean \(fixed(r.meanError, 2)) m, max \(fixed(r.maxError, 2)) m" : "none matched")

            """)
        // What reached the city: every request we created, against every true pothole.
        let filed = try db.filings().filter { $0.state == .filed || $0.state == .closed }
        if !filed.isEmpty {
            var perPothole = [Int](repeating: 0, count: allPotholes.count)
            var atPothole = 0
            for f in filed {
                let near = allPotholes.indices.filter { LocalGeodesy.distance((f.lat, f.lon), allPotholes[$0]) <= radius }
                if let nearest = near.min(by: { LocalGeodesy.distance((f.lat, f.lon), allPotholes[$0]) < LocalGeodesy.distance((f.lat, f.lon), allPotholes[$1]) }) {
                    atPothole += 1
                    perPothole[nearest] += 1
                }
            }
            try out.write("filed requests: \(filed.count), at a true pothole: \(atPothole), true potholes with more than one request: \(perPothole.filter { $0 > 1 }.count)\n")
        }
        try out.flush()
    }
}
