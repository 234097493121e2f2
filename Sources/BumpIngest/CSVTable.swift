import Foundation

/// A small CSV file read whole — truth files, crossings, asset layers; never traces, which
/// stream through the byte-level readers. Header names are trimmed, unquoted and lower-cased.
public struct CSVTable: Sendable {
    public struct Row: Sendable {
        /// 1-based line in the file.
        public var line: Int
        /// One cell per header column (missing trailing cells are empty).
        public var cells: [String]
    }

    public let path: String
    public let header: [String]
    public let rows: [Row]

    public init(path: String) throws {
        try self.init(text: String(decoding: try FileSystem.readAll(path), as: UTF8.self), path: path)
    }

    public init(text: String, path: String) throws {
        self.path = path
        let quoteOrSpace = CharacterSet(charactersIn: " \t\"")
        var header: [String]? = nil
        var rows: [Row] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if n == 0, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            var cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: quoteOrSpace) }
            guard let h = header else {
                header = cells.map { $0.lowercased() }
                continue
            }
            while cells.count < h.count { cells.append("") }
            rows.append(Row(line: n + 1, cells: cells))
        }
        guard let header else { throw FileError(path: path, message: "empty file: expected a header line") }
        self.header = header
        self.rows = rows
    }

    /// Index of the first of `names` present in the header.
    public func column(_ names: String...) -> Int? {
        names.lazy.compactMap { self.header.firstIndex(of: $0) }.first
    }

    /// The number in `row` at `column`, or an error naming the file, line and field.
    public func number(_ row: Row, _ column: Int) throws -> Double {
        let text = row.cells[column]
        guard let v = Double(text), v.isFinite else {
            throw FileError(path: path, message: "line \(row.line): field '\(header[column])': '\(text)' is not a number")
        }
        return v
    }
}
