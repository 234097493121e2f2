import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of one input, pulled a chunk at a time: a file (or stdin), a byte range of a file
/// (a zip entry), decompressed on the way when it is gzip (recognised by its magic bytes) or a
/// deflated zip entry.
///
/// Pull rather than push, because the streams of one recording are read in the order the time
/// merge asks for them. One buffer per source: memory stays bounded whatever the size, and one
/// call hands out at most `maxOutput` bytes, however much a compressed chunk expands.
final class ByteSource {
    enum Compression {
        /// gzip when the data starts with gzip's magic bytes, else none.
        case detectGzip
        case none
        /// Raw deflate (a zip entry), checked against its CRC-32 and size at the end.
        case zipDeflate(crc: UInt32, size: Int)
        /// Stored (a zip entry), checked against its CRC-32 at the end.
        case zipStored(crc: UInt32)
    }

    let path: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var offset: Int
    private var remaining: Int?
    private let compression: Compression
    private var inflater: Gunzip?
    private let limits: UploadLimits
    private var buffer: UnsafeMutableRawBufferPointer
    private var started = false
    private var crc: UInt = 0
    private var produced = 0
    private(set) var ended = false
    /// Most bytes one `next` hands out when decompressing.
    static let maxOutput = 1 << 20

    /// Opens `path` ("-" is stdin), or the `length` bytes from `offset` of it.
    init(path: String, offset: Int = 0, length: Int? = nil, compression: Compression = .detectGzip, limits: UploadLimits = .files, chunkSize: Int = 1 << 20) throws {
        self.path = path
        if path == "-" {
            fd = 0
            ownsDescriptor = false
        } else {
            fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw FileError.errno(path, "cannot open") }
            ownsDescriptor = true
        }
        self.offset = offset
        self.remaining = length
        self.compression = compression
        self.limits = limits
        buffer = .allocate(byteCount: chunkSize, alignment: 64)
        if case .zipDeflate = compression { inflater = try Gunzip(limits: limits, rawDeflate: true) }
    }

    deinit {
        if ownsDescriptor { _ = close(fd) }
        buffer.deallocate()
    }

    /// Calls `body` with the next bytes (possibly several pieces, possibly none); false once
    /// the input has ended (after its last bytes were delivered).
    func next(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        guard !ended else { return false }
        if let inflater, inflater.hasPending {
            // The rest of the last chunk's output first: the buffer still holds its input.
            try drain(inflater, body)
            return true
        }
        let want = min(buffer.count, remaining ?? Int.max)
        var n = 0
        if want > 0 {
            while true {
                n = fd == 0 && path == "-" ? read(fd, buffer.baseAddress, want) : pread(fd, buffer.baseAddress, want, off_t(offset))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileError.errno(path, "read failed")
                }
                break
            }
        }
        offset += n
        if remaining != nil { remaining! -= n }
        if n == 0 {
            if remaining.map({ $0 > 0 }) ?? false { throw FileError(path: path, message: "the file ends before the data it declares") }
            ended = true
            try finishChecks()
            return false
        }
        let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
        if !started {
            started = true
            if case .detectGzip = compression, n >= 2, chunk[0] == 0x1F, chunk[1] == 0x8B {
                inflater = try Gunzip(limits: limits)
            }
        }
        if let inflater {
            inflater.feed(chunk)
            try drain(inflater, body)
        } else {
            try deliver(chunk, body)
        }
        return true
    }

    private func drain(_ inflater: Gunzip, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        do {
            _ = try inflater.drain(maxBytes: Self.maxOutput) { piece in try deliver(piece, body) }
        } catch let e as UploadError {
            throw FileError(path: path, message: e.message)
        }
    }

    private func deliver(_ piece: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        switch compression {
        case .zipStored, .zipDeflate:
            crc = CZlib.crc32(crc, piece.bindMemory(to: UInt8.self).baseAddress, UInt32(piece.count))
        default: break
        }
        produced += piece.count
        try body(piece)
    }

    private func finishChecks() throws {
        do {
            try inflater?.finish()
        } catch {
            throw FileError(path: path, message: error.message)
        }
        switch compression {
        case .zipDeflate(let expected, let size):
            if produced != size { throw FileError(path: path, message: "inflated to \(produced) bytes, the zip says \(size)") }
            if UInt32(truncatingIfNeeded: crc) != expected { throw FileError(path: path, message: "CRC-32 mismatch: the zip entry is corrupt") }
        case .zipStored(let expected):
            if UInt32(truncatingIfNeeded: crc) != expected { throw FileError(path: path, message: "CRC-32 mismatch: the zip entry is corrupt") }
        default: break
        }
    }

    /// Everything left (decompressed), for small files such as metadata; throws once more than
    /// `limit` bytes came out. `name` is how the file is named in that error.
    func readAll(limit: Int, name: String? = nil) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while try next({ bytes.append(contentsOf: $0) }) {
            if bytes.count > limit { throw FileError(path: name ?? path, message: "larger than \(limit) bytes: not a metadata file") }
        }
        return bytes
    }

    /// The first `count` bytes of a file (fewer when it is shorter), decompressed when gzip.
    static func head(of path: String, count: Int = 4096) -> [UInt8] {
        guard let source = try? ByteSource(path: path, chunkSize: max(count, 4096)) else { return [] }
        var bytes: [UInt8] = []
        while bytes.count < count, (try? source.next({ bytes.append(contentsOf: $0) })) == true {}
        return Array(bytes.prefix(count))
    }
}

extension UploadLimits {
    /// Limits for local files: no size limit to speak of, but a zip or gzip bomb is still refused.
    public static var files: UploadLimits {
        var limits = UploadLimits()
        limits.maxBytes = Int.max
        limits.maxDecompressedBytes = 1 << 40
        return limits
    }
}
