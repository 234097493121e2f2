import Foundation
@testable import StreetBumpServer
import Synchronization
import Testing

@Suite("coalesced re-clustering")
struct CoalescingTests {
    @Test("callers arriving during a run share the next one; each returns after a run that started after it asked")
    func coalesces() async throws {
        let gate = Coalescing()
        let runs = Counter()
        let work: @Sendable () throws -> Void = {
            runs.add()
            Thread.sleep(forTimeInterval: 0.2)
        }
        // One caller starts a run; twenty more arrive while it runs.
        async let first: Void = gate.run(work)
        try await Task.sleep(for: .milliseconds(50))
        let asked = runs.value
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await gate.run(work)
                    return runs.value
                }
            }
            for try await seen in group { #expect(seen > asked, "a run started after the caller asked") }
        }
        try await first
        #expect(runs.value == 2, "twenty callers, one shared run")
    }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
