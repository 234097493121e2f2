#if canImport(Glibc)
import Glibc
#endif
import BumpIngest
import Foundation

/// Which files a command given files and folders should read.
enum TraceFiles {
    /// Every named file, and every file under every named folder (flagged, so a folder's
    /// non-trace files such as truth.csv can be skipped rather than fail the batch).
    static func expand(_ paths: [String]) throws -> [(path: String, fromFolder: Bool)] {
        try paths.flatMap { p -> [(path: String, fromFolder: Bool)] in
            FileSystem.isDirectory(p) ? try FileSystem.files(under: p).map { ($0, true) } : [(p, false)]
        }
    }

    /// True when the file starts like a trace: an NDJSON object, or a CSV header with `t` and
    /// acceleration or position columns (truth.csv and crossings.csv are not).
    static func looksLikeTrace(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return true } // let the reader report the error
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &bytes, bytes.count)
        guard n > 0 else { return false }
        var text = String(decoding: bytes[0..<n], as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let trimmed = text.drop { $0 == " " || $0 == "\n" || $0 == "\r" }
        if trimmed.hasPrefix("{") { return true }
        let header = trimmed.prefix { $0 != "\n" && $0 != "\r" }
        let columns = Set(header.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \"")).lowercased() })
        return columns.contains("t") && (columns.isSuperset(of: ["ax", "ay", "az"]) || columns.isSuperset(of: ["lat", "lon"]))
    }
}
