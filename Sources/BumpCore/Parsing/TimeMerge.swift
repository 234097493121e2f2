/// Merges the per-sensor row streams of one recording into one time-ordered stream.
///
/// Phone apps write each sensor to its own file, at its own rate: acceleration at 100 Hz in
/// one, fixes at 1 Hz in another. They are not row-aligned, so they are merged by time (a
/// k-way merge). Memory stays bounded: the reader of each stream is fed a chunk only when
/// that stream's queue is empty (`streamToRead`), and rows leave as soon as every open stream
/// has shown a later one.
///
/// Within a stream, rows a little out of order (buffered sensors, up to `holdback` ms) are put
/// back in order and exact duplicates dropped; a row older than what was already released is
/// counted in `late` and dropped. A stream whose times barely advance is not held in full:
/// beyond `maxHeld` waiting rows the oldest goes on (counted in `overflowed`).
///
/// A `.gravity` stream is not passed on: its readings are added to the rows of the
/// `.userAcceleration` streams (iOS exports acceleration without gravity plus a gravity file),
/// using the latest gravity reading at or before each row (at equal times gravity goes first).
public struct TimeMerge {
    /// What a stream's rows are.
    public enum Role: Sendable, Equatable {
        /// Rows passed on as they are: acceleration with gravity, fixes, or both.
        case rows
        /// Acceleration without gravity, to which the gravity stream is added.
        case userAcceleration
        /// The gravity vector (in its ax, ay, az), added to `.userAcceleration` rows.
        case gravity
    }

    private struct Stream {
        var role: Role
        var reorder: ReorderBuffer<TraceRow>
        /// Rows in order, waiting for the other streams.
        var queue: [TraceRow] = []
        var head = 0
        var closed = false

        var front: TraceRow? { head < queue.count ? queue[head] : nil }
        mutating func pop() {
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            }
        }
    }

    private var streams: [Stream]
    private var gravity: (x: Double, y: Double, z: Double)?
    /// Rows dropped because they came later than `holdback` after newer rows of their stream.
    public private(set) var late = 0
    /// Rows dropped as exact time duplicates within their stream.
    public private(set) var duplicates = 0
    /// Acceleration rows that came before any gravity reading and were dropped.
    public private(set) var withoutGravity = 0
    /// Rows passed on before the holdback window had passed them, because a stream held `maxHeld`.
    public private(set) var overflowed = 0

    /// - Parameters:
    ///   - roles: one per stream, in the order the streams are numbered.
    ///   - holdback: how far out of order (ms) rows of one stream may come.
    ///   - maxHeld: most rows one stream's reorder window holds.
    public init(roles: [Role], holdback: Double = 1_000, maxHeld: Int = 1_000_000) {
        streams = roles.map { Stream(role: $0, reorder: ReorderBuffer(holdback: holdback, maxHeld: maxHeld)) }
    }

    /// Adds the next row read from `stream`.
    public mutating func push(_ row: TraceRow, stream index: Int) {
        if !streams[index].reorder.insert(row.t, row) { return }
        while let (_, ready) = streams[index].reorder.popReady() { streams[index].queue.append(ready) }
    }

    /// Marks `stream` as finished: its remaining rows can be released.
    public mutating func close(stream index: Int) {
        while let (_, row) = streams[index].reorder.popAny() { streams[index].queue.append(row) }
        streams[index].closed = true
        late += streams[index].reorder.late
        duplicates += streams[index].reorder.duplicates
        overflowed += streams[index].reorder.overflowed
    }

    /// The open stream that must be read before more rows can be released, or nil when every
    /// stream is closed.
    public var streamToRead: Int? {
        streams.indices.first { !streams[$0].closed && streams[$0].front == nil }
    }

    /// Passes on every row that is certainly next in time: while each open stream has a queued
    /// row, the earliest queued row goes (gravity first on equal times). After every stream is
    /// closed this drains them all.
    public mutating func release<S: TraceRowSink>(into sink: inout S) {
        while true {
            var best = -1
            var bestT = Double.infinity
            for i in streams.indices {
                guard let row = streams[i].front else {
                    if streams[i].closed { continue }
                    return  // an open stream could still deliver something earlier
                }
                if best < 0 || row.t < bestT || (row.t == bestT && streams[i].role == .gravity && streams[best].role != .gravity) {
                    best = i
                    bestT = row.t
                }
            }
            guard best >= 0 else { return }
            var row = streams[best].front!
            streams[best].pop()
            switch streams[best].role {
            case .rows:
                sink.accept(row, trip: 0)
            case .gravity:
                gravity = (row.ax, row.ay, row.az)
            case .userAcceleration:
                guard let g = gravity ?? firstQueuedGravity() else {
                    withoutGravity += 1
                    continue
                }
                row.ax += g.x
                row.ay += g.y
                row.az += g.z
                sink.accept(row, trip: 0)
            }
        }
    }

    /// Before the first gravity reading has passed: the earliest one queued (gravity changes
    /// slowly, so a reading a few milliseconds later is as good).
    private func firstQueuedGravity() -> (x: Double, y: Double, z: Double)? {
        for stream in streams where stream.role == .gravity {
            if let row = stream.front { return (row.ax, row.ay, row.az) }
        }
        return nil
    }
}
