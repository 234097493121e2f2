/// A fast 128-bit content hash (two independent multiply-mix lanes over 8-byte words), for
/// recognising a file already ingested. Not cryptographic: it guards against accidents, not
/// adversaries, and costs far less than parsing.
public struct ContentHash: Sendable {
    private var a: UInt64 = 0x243F_6A88_85A3_08D3
    private var b: UInt64 = 0x1319_8A2E_0370_7344
    private var length: UInt64 = 0
    // Bytes of an incomplete word carried between chunks.
    private var tail: UInt64 = 0
    private var tailCount = 0

    public init() {}

    @inline(__always)
    private mutating func mix(_ w: UInt64) {
        a = (a ^ w) &* 0x9E37_79B9_7F4A_7C15
        a ^= a >> 29
        b = (b &+ w) &* 0xC2B2_AE3D_27D4_EB4F
        b ^= b >> 31
    }

    /// Adds bytes; chunks may be of any size.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var i = 0
        while tailCount > 0 && i < bytes.count {
            tail |= UInt64(bytes[i]) << (8 * UInt64(tailCount))
            tailCount += 1
            i += 1
            if tailCount == 8 {
                mix(tail)
                tail = 0
                tailCount = 0
            }
        }
        while i + 8 <= bytes.count {
            mix(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            i += 8
        }
        while i < bytes.count {
            tail |= UInt64(bytes[i]) << (8 * UInt64(tailCount))
            tailCount += 1
            i += 1
        }
    }

    /// The two lanes after the pending tail and the length are mixed in.
    private func digest() -> (a: UInt64, b: UInt64) {
        var c = self
        c.mix(c.tail ^ (UInt64(c.tailCount) << 56))
        c.mix(c.length)
        return (c.a, c.b)
    }

    /// 32 hex digits.
    public func finalize() -> String {
        let (a, b) = digest()
        return hex(a ^ (b >> 17)) + hex(b ^ (a << 13))
    }

    private func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// A stable 64-bit key for (trip name, time): an event's identity whatever order it came in.
    public static func eventKey(trip: String, t: Double) -> UInt64 {
        var h = ContentHash()
        var bytes = Array(trip.utf8)
        withUnsafeBytes(of: t.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        bytes.withUnsafeBytes { h.update($0) }
        let (a, b) = h.digest()
        return a ^ b
    }
}
