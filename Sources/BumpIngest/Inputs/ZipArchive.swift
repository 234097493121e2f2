#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The table of contents of a zip file (phone apps export recordings as zips), read from its
/// central directory, and the entries' bytes as streams.
///
/// Supports what phones write: stored and deflated entries, no encryption, no zip64. Refuses,
/// with a message saying why, an archive whose entry names could escape a folder (absolute
/// paths, `..`, backslashes), encrypted entries, other compression methods, zip64, and entries
/// that declare more than `limits.maxDecompressedBytes` or expand more than `limits.maxRatio`
/// times (a zip bomb); the inflater checks the real sizes and CRC-32 as it goes. Also refuses
/// more than `maxEntries` entries, and entries whose local header and data do not lie whole
/// before the central directory or overlap another entry's (overlapping entries are how zip
/// bombs beyond the ratio check are built).
struct ZipArchive: Sendable {
    /// One file in the archive.
    struct Entry: Sendable, Equatable {
        /// The path inside the archive, "/"-separated.
        var name: String
        var method: UInt16
        var crc32: UInt32
        var compressedSize: Int
        var size: Int
        /// Where the entry's local header starts.
        var localHeaderOffset: Int
        /// Where its data starts (after the local header, its name and extra field).
        var dataOffset = 0
    }

    let path: String
    /// The file entries (folders left out), in central-directory order.
    let entries: [Entry]
    let limits: UploadLimits
    /// Index in `entries` by name (the first, if a name repeats).
    private let index: [String: Int]

    /// Most entries an archive may have: phone exports have a few dozen.
    static let maxEntries = 10_000

    /// Reads the central directory of the zip file at `path`.
    init(path: String, limits: UploadLimits = .files) throws {
        self.path = path
        self.limits = limits
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError.errno(path, "cannot open") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError.errno(path, "cannot stat") }
        let fileSize = Int(st.st_size)

        // The end-of-central-directory record is in the last 22 + 65535 (comment) bytes.
        let tailSize = min(fileSize, 22 + 0xFFFF)
        let tail = try Self.read(fd, path, at: fileSize - tailSize, count: tailSize)
        guard tailSize >= 22, let eocd = stride(from: tailSize - 22, through: 0, by: -1).first(where: { tail.u32($0) == 0x0605_4B50 }) else {
            throw FileError(path: path, message: "not a zip file (no end of central directory record)")
        }
        let entryCount = Int(tail.u16(eocd + 10))
        if entryCount > Self.maxEntries {
            throw FileError(path: path, message: "the zip has \(entryCount) entries, more than \(Self.maxEntries): not a phone export")
        }
        let directorySize = Int(tail.u32(eocd + 12))
        let directoryOffset = Int(tail.u32(eocd + 16))
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF
            || (eocd >= 20 && tail.u32(eocd - 20) == 0x0706_4B50)
        {
            throw FileError(path: path, message: "zip64 archives are not supported; export the recording again, or unzip it and give the folder")
        }
        guard directoryOffset + directorySize <= fileSize else {
            throw FileError(path: path, message: "the zip's central directory lies outside the file (truncated download?)")
        }
        let directory = try Self.read(fd, path, at: directoryOffset, count: directorySize)
        var entries: [Entry] = []
        var p = 0
        for _ in 0..<entryCount {
            guard p + 46 <= directory.count, directory.u32(p) == 0x0201_4B50 else {
                throw FileError(path: path, message: "corrupt zip central directory")
            }
            let flags = directory.u16(p + 8)
            let method = directory.u16(p + 10)
            let crc = directory.u32(p + 16)
            let compressed = Int(directory.u32(p + 20))
            let size = Int(directory.u32(p + 24))
            let nameLength = Int(directory.u16(p + 28))
            let extraLength = Int(directory.u16(p + 30))
            let commentLength = Int(directory.u16(p + 32))
            let local = Int(directory.u32(p + 42))
            guard p + 46 + nameLength <= directory.count else { throw FileError(path: path, message: "corrupt zip central directory") }
            let name = String(decoding: directory[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            p += 46 + nameLength + extraLength + commentLength

            if let why = Self.unsafeNameProblem(name) {
                throw FileError(path: path, message: "refused: entry '\(name)' \(why) (a zip must not write outside its folder)")
            }
            if flags & 1 != 0 { throw FileError(path: path, message: "entry '\(name)' is encrypted; export the recording without a password") }
            if compressed == 0xFFFF_FFFF || size == 0xFFFF_FFFF || local == 0xFFFF_FFFF {
                throw FileError(path: path, message: "zip64 archives are not supported; unzip it and give the folder")
            }
            if name.hasSuffix("/") { continue }
            guard method == 0 || method == 8 else {
                throw FileError(path: path, message: "entry '\(name)' uses compression method \(method); only stored and deflate are supported")
            }
            if size > limits.maxDecompressedBytes {
                throw FileError(path: path, message: "entry '\(name)' declares \(size) bytes, more than the limit of \(limits.maxDecompressedBytes)")
            }
            if method == 8, size > 1 << 20, size / max(compressed, 1) > limits.maxRatio {
                throw FileError(path: path, message: "entry '\(name)' expands more than \(limits.maxRatio) times: refused as a zip bomb")
            }
            entries.append(Entry(name: name, method: method, crc32: crc, compressedSize: compressed, size: size, localHeaderOffset: local))
        }
        // Each entry's local header and data must lie whole before the central directory, and
        // no two entries may share bytes.
        for i in entries.indices {
            let entry = entries[i]
            guard entry.localHeaderOffset + 30 <= directoryOffset else {
                throw FileError(path: path, message: "entry '\(entry.name)': its local header lies outside the entries' part of the file")
            }
            let header = try Self.read(fd, path, at: entry.localHeaderOffset, count: 30)
            guard header.count == 30, header.u32(0) == 0x0403_4B50 else {
                throw FileError(path: path, message: "entry '\(entry.name)': corrupt local header")
            }
            entries[i].dataOffset = entry.localHeaderOffset + 30 + Int(header.u16(26)) + Int(header.u16(28))
            guard entries[i].dataOffset + entry.compressedSize <= directoryOffset else {
                throw FileError(path: path, message: "entry '\(entry.name)': its data runs past the entries' part of the file (truncated or forged zip)")
            }
        }
        var previous: Entry?
        for entry in entries.sorted(by: { $0.localHeaderOffset < $1.localHeaderOffset }) {
            if let previous, entry.localHeaderOffset < previous.dataOffset + previous.compressedSize {
                throw FileError(path: path, message: "refused: entries '\(previous.name)' and '\(entry.name)' overlap (a zip bomb's trick)")
            }
            previous = entry
        }
        self.entries = entries
        var index: [String: Int] = [:]
        for (i, entry) in entries.enumerated() where index[entry.name] == nil { index[entry.name] = i }
        self.index = index
    }

    /// Why an entry name is unsafe to use as a path, or nil when it is fine.
    static func unsafeNameProblem(_ name: String) -> String? {
        if name.hasPrefix("/") { return "is an absolute path" }
        if name.contains("\\") { return "contains a backslash" }
        if name.count >= 2, name.dropFirst().first == ":" { return "starts with a drive letter" }
        if name.split(separator: "/", omittingEmptySubsequences: false).contains("..") { return "leads out of the archive with '..'" }
        if name.utf8.contains(0) { return "contains a NUL byte" }
        return nil
    }

    /// The entry named `name` (exact path inside the archive).
    func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// A stream of the entry's uncompressed bytes, read `chunkSize` compressed bytes at a time.
    func source(for entry: Entry, chunkSize: Int = 256 << 10) throws -> ByteSource {
        let compression: ByteSource.Compression = entry.method == 8
            ? .zipDeflate(crc: entry.crc32, size: entry.size) : .zipStored(crc: entry.crc32)
        return try ByteSource(path: path, offset: entry.dataOffset, length: entry.compressedSize, compression: compression, limits: limits,
                              chunkSize: chunkSize)
    }

    /// The whole (small) entry, for metadata files.
    func contents(of entry: Entry, limit: Int = 1 << 20) throws -> [UInt8] {
        try source(for: entry).readAll(limit: limit, name: "\(path):\(entry.name)")
    }

    /// The first `count` bytes of the entry, inflated from a few KiB of its compressed data.
    func head(of entry: Entry, count: Int = 4096) -> [UInt8] {
        guard let source = try? source(for: entry, chunkSize: 4096) else { return [] }
        var bytes: [UInt8] = []
        while bytes.count < count, (try? source.next({ bytes.append(contentsOf: $0) })) == true {}
        return Array(bytes.prefix(count))
    }

    private static func read(_ fd: Int32, _ path: String, at offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError.errno(path, "read failed")
            }
            if n == 0 { break }
            done += n
        }
        return Array(bytes.prefix(done))
    }
}

extension Array where Element == UInt8 {
    /// Little-endian integers at a byte offset, as zip stores them.
    fileprivate func u16(_ i: Int) -> UInt16 { UInt16(self[i]) | UInt16(self[i + 1]) << 8 }
    fileprivate func u32(_ i: Int) -> UInt32 {
        UInt32(self[i]) | UInt32(self[i + 1]) << 8 | UInt32(self[i + 2]) << 16 | UInt32(self[i + 3]) << 24
    }
}
