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
        var excluded = 0
        for row in table.rows {
            if let k = kindColumn, row.cells[k] != "pothole" { continue }
            let lat = try table.number(row, latColumn), lon = try table.number(row, lonColumn)
            if crossings != nil, let i = idColumn, hitTrips[row.cells[i], default: []].count < minHits {
                excluded += 1
                continue
            }
            truthPoints.append((lat, lon))
        }
        let clusters = try store.open().clusters(classes: [.pothole])
        let (r, _) = Evaluation.match(predicted: clusters.map { ($0.lat, $0.lon) }, truth: truthPoints, radius: radius)
        var out = ByteWriter.standardOutput()
        try out.write("""
            pothole clusters: \(r.predicted), truth potholes: \(r.truth)\(crossings != nil ? " (\(excluded) hit by fewer than \(minHits) trips left out)" : ""), matched within \(fixed(radius, 1)) m: \(r.matched)
            precision \(fixed(r.precision, 3))  recall \(fixed(r.recall, 3))  F1 \(fixed(r.f1, 3))
            location error: mean \(fixed(r.meanError, 2)) m, max \(fixed(r.maxError, 2)) m

            """)
        try out.flush()
    }
}
