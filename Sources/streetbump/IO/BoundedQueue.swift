import Foundation

/// A first-in first-out hand-over between two threads that holds at most `capacity` items:
/// a producer that gets ahead waits, so a slow consumer slows the producer down (backpressure)
/// and nothing is dropped.
final class BoundedQueue<Item: Sendable>: @unchecked Sendable {
    enum Next {
        case item(Item)
        /// Nothing arrived within the timeout.
        case timeout
        /// The producer closed the queue and everything in it was taken; `error` is why it stopped
        /// early, if it did.
        case closed(error: (any Error)?)
    }

    private let capacity: Int
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var items: [Item] = []
    private var head = 0
    private var isClosed = false
    private var closeError: (any Error)?
    private var isCancelled = false

    init(capacity: Int) { self.capacity = capacity }

    /// Adds an item, waiting while the queue is full. Returns false once the consumer cancelled.
    @discardableResult
    func push(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count - head >= capacity && !isCancelled { condition.wait() }
        guard !isCancelled else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// No more items will come (with the reason, when the producer failed).
    func close(error: (any Error)? = nil) {
        condition.lock()
        defer { condition.unlock() }
        isClosed = true
        closeError = error
        condition.broadcast()
    }

    /// The consumer stops taking items: a waiting producer is released and further pushes fail.
    func cancel() {
        condition.lock()
        defer { condition.unlock() }
        isCancelled = true
        condition.broadcast()
    }

    /// The next item, waiting at most `timeout` seconds for one.
    func pop(timeout: Double) -> Next {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while head == items.count && !isClosed {
            if !condition.wait(until: deadline) { return .timeout }
        }
        guard head < items.count else { return .closed(error: closeError) }
        let item = items[head]
        head += 1
        // Compact now and then so the array does not grow with the stream.
        if head >= 64 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return .item(item)
    }
}
