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
        var header: [String]? = nil
        var rows: [Row] = []
        for (line, cells) in try Self.records(text, path: path) {
            guard let h = header else {
                header = cells.map { $0.lowercased() }
                continue
            }
            rows.append(Row(line: line, cells: cells + Array(repeating: "", count: max(0, h.count - cells.count))))
        }
        guard let header else { throw FileError(path: path, message: "empty file: expected a header line") }
        self.header = header
        self.rows = rows
    }

    /// The records of RFC 4180 text with the line each starts on, blank lines left out. A
    /// quoted cell may hold commas, doubled quotes and line breaks (GIS tools quote free text
    /// like "Manhole, sewer"); unquoted cells are trimmed of spaces and tabs.
    static func records(_ text: String, path: String) throws -> [(line: Int, cells: [String])] {
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var records: [(line: Int, cells: [String])] = []
        var cells: [String] = [], cell: [UInt8] = []
        var quoted = false, inQuotes = false, line = 1, start = 1, quoteLine = 0
        func endCell() {
            var text = String(decoding: cell, as: UTF8.self)
            if !quoted { text = text.trimmingCharacters(in: CharacterSet(charactersIn: " \t\r")) }
            cells.append(text)
            cell.removeAll(keepingCapacity: true)
            quoted = false
        }
        func endRecord() {
            endCell()
            if !(cells.count == 1 && cells[0].isEmpty) { records.append((start, cells)) }
            cells.removeAll()
        }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if inQuotes {
                if c == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\"") {
                        cell.append(c)
                        i += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if c == UInt8(ascii: "\n") { line += 1 }
                    cell.append(c)
                }
            } else if c == UInt8(ascii: "\"") && cell.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
                cell.removeAll()
                quoted = true
                inQuotes = true
                quoteLine = line
            } else if c == UInt8(ascii: ",") {
                endCell()
            } else if c == UInt8(ascii: "\n") {
                endRecord()
                line += 1
                start = line
            } else if !(quoted && (c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r"))) {
                cell.append(c)
            }
            i += 1
        }
        // An open quote would swallow every later line into one cell.
        if inQuotes { throw FileError(path: path, message: "line \(quoteLine): a quote is opened and never closed") }
        if !cells.isEmpty || !cell.isEmpty || quoted { endRecord() }
        return records
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
