import ArgumentParser
import BumpFiling
import BumpIngest
import BumpStore

/// `streetbump file`: one request per real pothole, exactly once.
struct File: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "File Open311 requests for pothole clusters that qualify (and retry, and sync statuses).",
        discussion: """
            Files to open311_url when set (config or STREETBUMP_OPEN311_URL), else into the store's own \
            Open311 queue, served by `streetbump serve`. Running it again files nothing new.
            """)
    @OptionGroup var store: StoreOptions
    @OptionGroup var options: FilingOptions
    @Flag(help: "Show what would be filed and why, without filing.")
    var dryRun = false
    @Option(help: "File this cluster now (staff decision), whatever its confidence.")
    var cluster: Int64?

    func run() async throws {
        let db = try store.openExisting()
        let logger = Logs.logger("streetbump.file")
        let target = try await options.target(store: db, logger: logger)
        do {
            let filer = try await Filer.connect(store: db, settings: target.settings, logger: logger)
            var out = ByteWriter.standardOutput()
            if dryRun {
                let decisions = try filer.plan()
                for d in decisions { try out.write("cluster \(d.clusterID): \(d.entry == nil ? "not filed" : "would file") — \(d.reason)\n") }
                try out.write("\(decisions.filter { $0.entry != nil }.count) would be filed; nothing was sent\n")
            } else {
                if let cluster {
                    if let e = try filer.enqueueByStaff(cluster: cluster) { try out.write("cluster \(cluster) queued (filing \(e.id))\n") }
                }
                let r = try await filer.run(maxWait: options.wait)
                try out.write("queued \(r.queued), filed \(r.filed), linked \(r.linked), parked \(r.parked), waiting to retry \(r.waiting), closed since last sync \(r.closed)\n")
                if r.parked > 0 { try out.write("parked requests need staff: streetbump requests list --state parked\n") }
            }
            try out.flush()
        } catch {
            await target.stop()
            throw error
        }
        await target.stop()
    }
}
