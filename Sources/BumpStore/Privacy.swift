import Foundation
import GRDB

/// What a purge removed.
public struct PurgeResult: Sendable, Equatable {
    public var trips = 0
    public var events = 0
    public init() {}
}

extension TraceStore {
    /// Deletes a resident's trip: its events, coverage and stream fixes, and the name and
    /// summary of a source file that held nothing else. The source's content hash stays, so the
    /// same file uploaded again is recognised and not stored again. Clusters change at the next
    /// re-clustering; requests already filed stay (they hold only the pothole's position).
    /// A trip the stream split at an idle gap was stored as `NAME`, `NAME~2`, `NAME~3`, …:
    /// the segments go with it.
    public func purgeTrip(name: String) throws -> PurgeResult {
        try pool.write { db in
            let prefix = name + "~"
            let candidates = try Row.fetchAll(
                db, sql: "SELECT id, name FROM trip WHERE name = ? OR substr(name, 1, ?) = ?",
                arguments: [name, prefix.unicodeScalars.count, prefix])  // SQLite counts code points
            let ids: [Int64] = candidates.compactMap { row in
                let stored: String = row[1]
                let isSegment = stored.hasPrefix(prefix) && stored.count > prefix.count
                    && stored.dropFirst(prefix.count).allSatisfy { $0.isASCII && $0.isNumber }
                return stored == name || isSegment ? row[0] : nil
            }
            guard !ids.isEmpty else { return PurgeResult() }
            return try Self.purge(db, where: "id IN (\(ids.map { "\($0)" }.joined(separator: ",")))", [])
        }
    }

    /// Deletes every trip stored before `cutoff` (the retention setting); a trip a stream left
    /// open also needs its last row that old, so one still being streamed stays, while a
    /// killed stream that never came back does not keep its raw fixes near where the driver
    /// lives for ever.
    public func purgeTrips(storedBefore cutoff: Date) throws -> PurgeResult {
        try pool.write { db in
            // An open trip by its rows' time and by when it was stored: rows in time since the
            // start (or a wrong phone clock) look old while the stream is still sending them.
            try Self.purge(db, where: "stored_at < ? AND (open = 0 OR end_ms < ?)",
                           [cutoff.timeIntervalSince1970, cutoff.timeIntervalSince1970 * 1_000])
        }
    }

    private static func purge(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> PurgeResult {
        let trips = try Row.fetchAll(db, sql: "SELECT id, source_hash FROM trip WHERE \(condition)", arguments: arguments)
        var result = PurgeResult()
        for t in trips {
            let id: Int64 = t[0]
            result.events += try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event WHERE trip_id = ?", arguments: [id]) ?? 0
            // Explicit deletes rather than relying on the cascade, so a store opened without
            // foreign keys is purged just the same.
            try db.execute(sql: "DELETE FROM event WHERE trip_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM coverage WHERE trip_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM stream_fix WHERE trip_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM trip WHERE id = ?", arguments: [id])
            if let hash: String = t[1], try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM trip WHERE source_hash = ?", arguments: [hash]) == 0 {
                try db.execute(sql: "UPDATE source SET path = 'purged', summary = NULL WHERE hash = ?", arguments: [hash])
            }
            result.trips += 1
        }
        return result
    }
}
