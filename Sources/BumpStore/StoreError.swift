import GRDB

/// A store problem, phrased for the person at the terminal.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

extension StoreError {
    /// Whether `error` is SQLite refusing a row that clashes with one already stored (a
    /// concurrent writer of the same content or name won the race), rather than a failure of
    /// the store itself (busy past the timeout, disk full, I/O).
    public static func isConflict(_ error: any Error) -> Bool {
        (error as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT
    }
}
