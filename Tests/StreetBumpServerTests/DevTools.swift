import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
/// commands on fd 3, answers on fd 4, each JSON message ended by a NUL), so a test can click
/// through the page like a reviewer. Answers are read on a thread of its own: the server the
/// browser talks to needs the test's cooperative threads.
final class DevToolsBrowser: @unchecked Sendable {
    private let pid: pid_t
    private let commands: FileHandle
    private let lock = NSLock()
    private var waiting: [Int: CheckedContinuation<Data, any Error>] = [:]
    private var nextID = 0
    private var closed = false
    private var session: String?

    init() throws {
        let path = try #require(Browser.path, "chromium is not installed (apt-get install chromium)")
        var toBrowser: [Int32] = [0, 0], fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw POSIXError(.EMFILE) }
        // The browser's ends move above 9 first: dup2 onto the same number would keep close-on-exec.
        for (i, fd) in [toBrowser[0], fromBrowser[1]].enumerated() {
            let high = fcntl(fd, F_DUPFD, 10)
            Glibc.close(fd)
            if i == 0 { toBrowser[0] = high } else { fromBrowser[1] = high }
        }
        // Our ends must not leak into the browser, or its fd 4 would never see EOF.
        _ = fcntl(toBrowser[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fromBrowser[0], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toBrowser[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser[1], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)").path
        let args = [path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--remote-debugging-pipe",
                    "--user-data-dir=\(profile)", "--window-size=1400,900", "about:blank"]
        var cargs = args.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, &cargs, environ)
        Glibc.close(toBrowser[0])
        Glibc.close(fromBrowser[1])
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        self.pid = pid
        commands = FileHandle(fileDescriptor: toBrowser[1], closeOnDealloc: true)
        let answers = fromBrowser[0]
        Thread.detachNewThread { [self] in readAnswers(answers) }
    }

    /// Opens `url` in a new tab that later calls act on.
    func open(_ url: String) async throws {
        let target = try await send("Target.createTarget", ["url": "about:blank"], inSession: false)
        let attached = try await send("Target.attachToTarget", ["targetId": target["targetId"] as Any, "flatten": true], inSession: false)
        session = attached["sessionId"] as? String
        _ = try await send("Page.navigate", ["url": url])
    }

    /// Runs `script` (an expression; a promise is awaited) in the page and returns its value.
    func evaluate(_ script: String) async throws -> Any? {
        let answer = try await send("Runtime.evaluate", ["expression": script, "awaitPromise": true, "returnByValue": true])
        if let exception = answer["exceptionDetails"] as? [String: Any] {
            throw BrowserError(message: "\((exception["exception"] as? [String: Any])?["description"] ?? exception)")
        }
        return (answer["result"] as? [String: Any])?["value"]
    }

    /// Evaluates `condition` every 100 ms until it is true (at most `seconds`).
    func waitFor(_ condition: String, seconds: Double = 20) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await evaluate("Boolean(\(condition))") as? Bool == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BrowserError(message: "timed out waiting for \(condition)")
    }

    func close() {
        lock.withLock { closed = true }
        try? commands.close()
        kill(pid, SIGKILL)
        let pid = self.pid
        Thread.detachNewThread {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    private func send(_ method: String, _ params: [String: Any], inSession: Bool = true) async throws -> [String: Any] {
        let answer = try await exchange(method, params, inSession: inSession)
        let json = try JSONSerialization.jsonObject(with: answer) as? [String: Any] ?? [:]
        if let error = json["error"] as? [String: Any] { throw BrowserError(message: "\(method): \(error["message"] ?? error)") }
        return json["result"] as? [String: Any] ?? [:]
    }

    /// Sends one command and returns the browser's whole answer to it.
    private func exchange(_ method: String, _ params: [String: Any], inSession: Bool) async throws -> Data {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Data, any Error>) in
            var message: [String: Any] = ["method": method, "params": params]
            let id: Int = lock.withLock {
                nextID += 1
                waiting[nextID] = c
                return nextID
            }
            message["id"] = id
            if inSession, let session { message["sessionId"] = session }
            do {
                var data = try JSONSerialization.data(withJSONObject: message)
                data.append(0)
                try commands.write(contentsOf: data)
            } catch {
                if let c = lock.withLock({ waiting.removeValue(forKey: id) }) { c.resume(throwing: error) }
            }
            // A browser that never answers fails the test instead of hanging it.
            Thread.detachNewThread { [self] in
                Thread.sleep(forTimeInterval: 30)
                if let c = lock.withLock({ waiting.removeValue(forKey: id) }) {
                    c.resume(throwing: BrowserError(message: "\(method): no answer in 30 s"))
                }
            }
        }
    }

    private func readAnswers(_ fd: Int32) {
        defer { Glibc.close(fd) }
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            // A plain read(2): it returns what the pipe holds instead of waiting for a full chunk.
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            buffer.append(contentsOf: chunk[..<n])
            while let end = buffer.firstIndex(of: 0) {
                let message = buffer[buffer.startIndex..<end]
                buffer = Data(buffer[(end + 1)...])
                // Events have no id; answers go to whoever waits for theirs.
                guard let json = try? JSONSerialization.jsonObject(with: message) as? [String: Any], let id = json["id"] as? Int,
                      let c = lock.withLock({ waiting.removeValue(forKey: id) }) else { continue }
                c.resume(returning: Data(message))
            }
        }
        // The browser is gone: nobody waiting will get an answer.
        let left = lock.withLock { () -> [CheckedContinuation<Data, any Error>] in
            defer { waiting.removeAll() }
            return Array(waiting.values)
        }
        for c in left { c.resume(throwing: BrowserError(message: "the browser exited")) }
    }
}

struct BrowserError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
