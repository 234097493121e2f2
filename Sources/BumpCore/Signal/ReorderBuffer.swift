/// Puts nearly-sorted timestamped items back in order within a holdback window.
///
/// Phones deliver samples with jitter, duplicates and the odd late batch. Items are released
/// once the newest time has moved `holdback` past them; an item older than what was already
/// released cannot be placed and is counted as late. Equal timestamps keep the first item.
/// Sorted input costs one append and one removal per item.
///
/// Memory is bounded by count as well as time: when more than `maxHeld` items are waiting
/// (times that barely advance), the oldest is released anyway and counted in `overflowed`.
public struct ReorderBuffer<Element> {
    private var items: [(t: Double, value: Element)] = []
    private var head = 0
    private let holdback: Double
    private let maxHeld: Int
    /// Time of the last released item.
    public private(set) var releasedUntil = -Double.infinity
    public private(set) var late = 0
    public private(set) var duplicates = 0
    /// Items released before the window had passed them, because `maxHeld` were waiting.
    public private(set) var overflowed = 0

    /// `holdback` in the same unit as the timestamps; at most `maxHeld` items are kept.
    public init(holdback: Double, maxHeld: Int = 1_000_000) {
        self.holdback = holdback
        self.maxHeld = max(1, maxHeld)
        items.reserveCapacity(256)
    }

    public var isEmpty: Bool { head == items.count }
    /// Items waiting.
    public var count: Int { items.count - head }

    /// Adds an item; returns false when it was dropped (late or duplicate).
    @discardableResult
    @inline(__always)
    public mutating func insert(_ t: Double, _ value: Element) -> Bool {
        // Inline fast path for the usual item, newer than everything held and released.
        if t > releasedUntil, head == items.count || items[items.count - 1].t < t {
            items.append((t, value))
            return true
        }
        return insertOutOfOrder(t, value)
    }

    /// `insert` for an item that is not newer than all the others: placed, or dropped when late
    /// or a duplicate.
    @inline(never)
    private mutating func insertOutOfOrder(_ t: Double, _ value: Element) -> Bool {
        if t <= releasedUntil {
            if t == releasedUntil { duplicates += 1 } else { late += 1 }
            return false
        }
        var i = items.count
        while i > head && items[i - 1].t > t { i -= 1 }
        if i > head && items[i - 1].t == t {
            duplicates += 1
            return false
        }
        if i == items.count { items.append((t, value)) } else { items.insert((t, value), at: i) }
        return true
    }

    /// The oldest item once it is at least `holdback` older than the newest one, or once more
    /// than `maxHeld` are waiting; else nil.
    @inline(__always)
    public mutating func popReady() -> (t: Double, value: Element)? {
        guard head < items.count else { return nil }
        if items[head].t <= items[items.count - 1].t - holdback { return pop() }
        guard items.count - head > maxHeld else { return nil }
        overflowed += 1
        return pop()
    }

    /// The oldest item whatever its age (end of input), or nil when empty.
    public mutating func popAny() -> (t: Double, value: Element)? {
        head < items.count ? pop() : nil
    }

    @inline(__always)
    private mutating func pop() -> (t: Double, value: Element) {
        let item = items[head]
        head += 1
        releasedUntil = item.t
        compact()
        return item
    }

    @inline(__always)
    private mutating func compact() {
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
    }
}
