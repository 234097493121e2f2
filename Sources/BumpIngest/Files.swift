#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Error from the file layer, phrased for the person at the terminal.
public struct FileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    static func errno(_ path: String, _ what: String) -> FileError {
        FileError(path: path, message: "\(what): \(String(cString: strerror(Glibc.errno)))")
    }
}

/// Buffered writer to a file or stdout/stderr; flushes when the buffer passes 1 MiB.
public struct ByteWriter {
    public let path: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    public var buffer: [UInt8] = []

    public static func standardOutput() -> ByteWriter { ByteWriter(fd: 1, path: "<stdout>") }
    public static func standardError() -> ByteWriter { ByteWriter(fd: 2, path: "<stderr>") }

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        ownsDescriptor = false
        buffer.reserveCapacity(1 << 20)
    }

    /// Creates (or truncates) a file.
    public init(creating path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileError.errno(path, "cannot create") }
        ownsDescriptor = true
        buffer.reserveCapacity(1 << 20)
    }

    public mutating func write(_ s: String) throws {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Flushes when the caller has appended to `buffer` directly.
    public mutating func flushIfFull() throws {
        if buffer.count >= 1 << 20 { try flush() }
    }

    public mutating func flush() throws {
        var offset = 0
        try buffer.withUnsafeBytes { p in
            while offset < p.count {
                let n = Glibc.write(fd, p.baseAddress! + offset, p.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileError.errno(path, "write failed")
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    public mutating func close() throws {
        try flush()
        if ownsDescriptor { _ = Glibc.close(fd) }
    }
}

/// Small file-system helpers the commands share.
public enum FileSystem {
    public static func makeDirectory(_ path: String) throws {
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            built += "/" + part
            if mkdir(built, 0o755) != 0 && errno != EEXIST { throw FileError.errno(built, "cannot create directory") }
        }
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names in a folder (not recursive, sorted), hidden ones left out.
    public static func entries(of path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw FileError.errno(path, "cannot open directory") }
        defer { closedir(dir) }
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if !name.hasPrefix(".") { out.append(name) }
        }
        return out.sorted()
    }

    /// The device and inode of a folder or file (links followed), to tell when one was seen.
    public static func identity(_ path: String) -> (device: UInt64, inode: UInt64)? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    /// The whole file (for small inputs: settings, truth and asset tables).
    public static func readAll(_ path: String) throws -> [UInt8] {
        try ByteSource(path: path, compression: .none).readAll(limit: .max)
    }

    public static func writeText(_ text: String, to path: String) throws {
        var w = try ByteWriter(creating: path)
        try w.write(text)
        try w.close()
    }

    /// File name without directories and without the last extension.
    public static func baseName(_ path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if let dot = name.lastIndex(of: "."), dot != name.startIndex { return String(name[..<dot]) }
        return name
    }
}
