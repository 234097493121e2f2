import ArgumentParser

/// The streetbump command line: batch tools, filing and the daemon.
@main
struct StreetBump: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streetbump",
        abstract: "Turns phone accelerometer/GPS recordings from driving into pothole service requests.",
        discussion: "Formats and contracts: see README.md.",
        subcommands: [
            Simulate.self, Detect.self, Ingest.self, Clusters.self, Evaluate.self, KnownFeatures.self, File.self, Requests.self,
            Serve.self, Stream.self, Purge.self, CoverageCommand.self,
        ]
    )
}
