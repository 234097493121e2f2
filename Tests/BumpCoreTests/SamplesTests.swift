import BumpCore
import Testing

@Suite("Content hash, timestamps, evaluation")
struct SamplesTests {
    @Test("the content hash does not depend on how the bytes were chunked")
    func hashChunking() {
        var rng = SimRandom(seed: 5)
        let bytes = (0..<1_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        func hash(chunk: Int) -> String {
            var h = ContentHash()
            bytes.withUnsafeBytes { all in
                var i = 0
                while i < all.count {
                    h.update(UnsafeRawBufferPointer(rebasing: all[i..<min(i + chunk, all.count)]))
                    i += chunk
                }
            }
            return h.finalize()
        }
        let whole = hash(chunk: bytes.count)
        #expect(whole.count == 32)
        for chunk in [1, 3, 7, 8, 9, 64, 999] { #expect(hash(chunk: chunk) == whole, "chunks of \(chunk)") }
        var other = bytes
        other[500] ^= 1
        var h = ContentHash()
        other.withUnsafeBytes { h.update($0) }
        #expect(h.finalize() != whole, "one flipped bit changes the hash")
        #expect(ContentHash.eventKey(trip: "a", t: 1) == ContentHash.eventKey(trip: "a", t: 1))
        #expect(ContentHash.eventKey(trip: "a", t: 1) != ContentHash.eventKey(trip: "a", t: 2))
        #expect(ContentHash.eventKey(trip: "a", t: 1) != ContentHash.eventKey(trip: "b", t: 1))
    }

    @Test("ISO 8601 times in UTC")
    func timestamps() {
        #expect(Timestamp.iso(0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.iso(1_780_000_000_123) == "2026-05-28T20:26:40.123Z")
        #expect(Timestamp.iso(951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp.iso(-1) == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp.iso(.nan) == "")
    }

    @Test("evaluation matches one-to-one, closest first, within the radius")
    func evaluation() {
        let truth = [(lat: 42.35, lon: -71.07), (lat: 42.36, lon: -71.07)]
        let near = LocalGeodesy.point(from: truth[0], east: 3, north: 0)
        let nearer = LocalGeodesy.point(from: truth[0], east: 1, north: 0)
        let far = LocalGeodesy.point(from: truth[1], east: 30, north: 0)
        let (r, pairs) = Evaluation.match(predicted: [near, nearer, far], truth: truth, radius: 8)
        #expect(r.matched == 1 && pairs == [nil, 0, nil])
        #expect(abs(r.precision - 1.0 / 3) < 1e-9 && abs(r.recall - 0.5) < 1e-9)
        #expect(abs(r.meanError - 1) < 0.01)
    }
}
