import ArgumentParser
import BumpCore
import BumpFiling
import BumpIngest
import BumpStore
import Foundation
import StreetBumpServer

/// `streetbump requests ...`: the filing outbox and the embedded queue, for staff.
struct Requests: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Filed requests: list, show one with its history, retry a parked one, sync statuses, close one in the embedded queue.",
        subcommands: [List.self, Show.self, Retry.self, Sync.self, Close.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The filing outbox, oldest first.")
        @OptionGroup var store: StoreOptions
        @Option(help: "Only this state: queued, posting, filed, linked, parked, closed, cancelled.")
        var state: String?

        func run() throws {
            let states = try state.map { s -> [FilingState] in
                guard let st = FilingState(rawValue: s) else {
                    throw ValidationError("unknown state '\(s)'; states: \(FilingState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return [st]
            }
            let rows = try store.openExisting().filings(in: states)
            var out = ByteWriter.standardOutput()
            let widths = [6, 8, 4, 8, 10, 8, 4, 20, 40]
            try out.write(pad(["filing", "cluster", "gen", "state", "request", "status", "try", "updated", "note"], widths))
            for f in rows {
                try out.write(pad([
                    "\(f.id)", "\(f.clusterID)", "\(f.generation)", f.state.rawValue, f.serviceRequestID ?? (f.token.map { _ in "(token)" } ?? "-"),
                    f.requestStatus ?? "-", "\(f.attempts)", Timestamp.iso(f.updatedAt * 1_000).prefix(19).description,
                    String((f.lastError ?? f.previousRequestID.map { "follows request \($0)" } ?? "").prefix(120)),
                ], widths))
            }
            if rows.isEmpty { try out.write("no filings\(state.map { " in state \($0)" } ?? "")\n") }
            try out.flush()
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One filing: its request, its description and its history.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Filing id (from `requests list`).")
        var id: Int64

        func run() throws {
            let db = try store.openExisting()
            guard let f = try db.filing(id: id) else { throw ValidationError("no filing \(id); `streetbump requests list` shows them") }
            var out = ByteWriter.standardOutput()
            try out.write("""
                filing \(f.id): cluster \(f.clusterID), generation \(f.generation), \(f.state.rawValue) (\(f.origin))
                  request \(f.serviceRequestID ?? "-") status \(f.requestStatus ?? "-")\(f.statusNotes.map { ": \($0)" } ?? "")
                  endpoint \(f.endpoint), service \(f.serviceCode), attempts \(f.attempts), reference \(f.reference)
                  \(f.lastError.map { "last error: \($0)" } ?? "no error")
                description:

                """)
            for line in f.description.split(separator: "\n") { try out.write("  | \(line)\n") }
            try out.write("history:\n")
            for entry in try db.filingLog(id: id) {
                try out.write("  \(Timestamp.iso(entry.at * 1_000))  \(entry.state.padding(toLength: 8, withPad: " ", startingAt: 0))  \(entry.note)\n")
            }
            try out.flush()
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a parked filing back in the queue (after fixing what the endpoint refused).")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Filing id.")
        var id: Int64

        func run() throws {
            let db = try store.openExisting()
            guard var f = try db.filing(id: id) else { throw ValidationError("no filing \(id)") }
            guard f.state == .parked else { throw ValidationError("filing \(id) is \(f.state.rawValue); only parked filings can be retried") }
            // A parked entry may have reached the server; the nearby check before posting finds it.
            f.state = f.attempts > 0 ? .posting : .queued
            f.attempts = 0
            f.nextAttemptAt = 0
            guard try db.saveFiling(f, note: "put back in the queue by staff", at: Date()) != nil else {
                throw ValidationError("filing \(id) changed meanwhile; try again")
            }
            print("filing \(id) queued; `streetbump file` sends it")
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask the endpoint for the status of every live request; closed ones are marked fixed.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var options: FilingOptions

        func run() async throws {
            let db = try store.openExisting()
            let logger = Logs.logger("streetbump.sync")
            let target = try await options.target(store: db, logger: logger)
            do {
                let filer = try await Filer.connect(store: db, settings: target.settings, logger: logger)
                let closed = await filer.syncStatus()
                print("\(closed) request(s) closed since the last sync")
            } catch {
                await target.stop()
                throw error
            }
            await target.stop()
        }
    }

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a request in the embedded Open311 queue (the crew fixed it), for cities that use it as their 311.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "service_request_id in the embedded queue.")
        var requestID: String
        @Option(help: "Status notes, e.g. 'patched 2026-11-20'.")
        var notes: String?

        func run() throws {
            guard try store.openExisting().setCityRequestStatus(id: requestID, status: "closed", notes: notes, at: Date()) else {
                throw ValidationError("no request \(requestID) in the embedded queue of \(store.path)")
            }
            print("request \(requestID) closed; the next sync marks its cluster fixed")
        }
    }
}
