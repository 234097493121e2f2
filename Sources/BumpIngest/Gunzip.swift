import CZlib

/// Limits on one upload: raw size, and (against gzip bombs) decompressed size and ratio.
public struct UploadLimits: Sendable {
    public var maxBytes = 256 << 20
    public var maxDecompressedBytes = 2 << 30
    public var maxRatio = 200
    /// Trips in one upload (each holds a detector while the body is read).
    public var maxTrips = 2_000
    public init() {}
}

/// An upload refused, with the HTTP status that says why.
public struct UploadError: Error, CustomStringConvertible, Sendable {
    public var status: Int
    public var message: String
    public init(status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
    public var description: String { message }
}

/// Streaming gzip (or zlib, or raw deflate as in zip entries) decompression that stops at the
/// limits instead of filling memory.
final class Gunzip {
    private var stream = z_stream()
    private let limits: UploadLimits
    /// "gzip" or "deflate", for messages.
    private let what: String
    private let raw: Bool
    private(set) var inBytes = 0
    private(set) var outBytes = 0
    private var output = [UInt8](repeating: 0, count: 256 << 10)
    private var ended = false

    /// - Parameter rawDeflate: true for headerless deflate data (zip entries), false for gzip or zlib.
    init(limits: UploadLimits, rawDeflate: Bool = false) throws(UploadError) {
        self.limits = limits
        raw = rawDeflate
        what = rawDeflate ? "deflate" : "gzip"
        // 15 + 32: a 32 KiB window, gzip or zlib header detected automatically; -15: no header.
        guard inflateInit2_(&stream, rawDeflate ? -15 : 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw UploadError(status: 500, "cannot start \(what) decompression")
        }
    }

    deinit { inflateEnd(&stream) }

    /// True when the last inflate filled the output buffer: more output may be waiting in zlib.
    private var outputFull = false

    /// True while input given to `feed` is not all inflated yet: call `drain` again.
    var hasPending: Bool { stream.avail_in > 0 || outputFull }

    /// Decompresses `chunk` whole, handing each piece of output (256 KiB at most) to `body`.
    func decompress(_ chunk: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        feed(chunk)
        while try drain(maxBytes: Int.max, body) {}
    }

    /// Gives the next compressed input, which must stay valid and unchanged until `hasPending` is false.
    func feed(_ chunk: UnsafeRawBufferPointer) {
        guard chunk.count > 0 else { return }
        inBytes += chunk.count
        stream.next_in = UnsafeMutablePointer(mutating: chunk.bindMemory(to: UInt8.self).baseAddress!)
        stream.avail_in = UInt32(chunk.count)
    }

    /// Inflates what `feed` gave, handing pieces to `body` until about `maxBytes` were handed
    /// out (never more, unless `maxBytes` is below one piece) or the input is used up. Returns
    /// true when some is left for the next call: a chunk that expands 200 times is handed out
    /// in bounded pieces, not all at once.
    func drain(maxBytes: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        var delivered = 0
        repeat {
            guard hasPending else { return false }
            if ended {
                // Raw deflate data ends once; anything after it is not ours to read.
                if raw {
                    stream.avail_in = 0
                    return false
                }
                // Zero bytes after a member are padding (tape and block writers add it; gzip
                // ignores it): skip them.
                if let next = stream.next_in, UnsafeBufferPointer(start: next, count: Int(stream.avail_in)).allSatisfy({ $0 == 0 }) {
                    stream.next_in = next + Int(stream.avail_in)
                    stream.avail_in = 0
                    return false
                }
                // Another gzip member follows (concatenated files).
                inflateReset(&stream)
                ended = false
            }
            let status: Int32 = output.withUnsafeMutableBytes { out in
                stream.next_out = out.bindMemory(to: UInt8.self).baseAddress
                stream.avail_out = UInt32(out.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            let produced = output.count - Int(stream.avail_out)
            outputFull = stream.avail_out == 0
            outBytes += produced
            if outBytes > limits.maxDecompressedBytes {
                throw UploadError(status: 413, "decompressed data exceeds \(limits.maxDecompressedBytes) bytes")
            }
            // The ratio to the input consumed so far, checked from the first full buffer on, so a
            // bomb is refused before its output reaches the reader.
            let consumed = inBytes - Int(stream.avail_in)
            if outBytes >= output.count && outBytes / max(consumed, 1) > limits.maxRatio {
                throw UploadError(status: 413, "\(what) data expands more than \(limits.maxRatio) times: refused as a decompression bomb")
            }
            if produced > 0 { try output.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
            delivered += produced
            switch status {
            case Z_OK: continue
            case Z_STREAM_END:
                ended = true
                outputFull = false
            case Z_BUF_ERROR where produced > 0: continue
            case Z_BUF_ERROR:
                // Nothing more without more input.
                outputFull = false
                return false
            default:
                let why = stream.msg.map { String(cString: $0) } ?? String(cString: zError(status))
                throw UploadError(status: 400, raw ? "not valid deflate data (\(why))" : "the body is not valid gzip (\(why))")
            }
        } while delivered + output.count <= maxBytes
        return hasPending
    }

    /// Fails when the input ended in the middle of a gzip member.
    func finish() throws(UploadError) {
        if inBytes > 0 && !ended { throw UploadError(status: 400, raw ? "the deflate data is truncated" : "the gzip body is truncated") }
    }
}

