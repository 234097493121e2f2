import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A TCP proxy in front of a real HTTP server that injects the faults a city's endpoint shows:
/// error statuses, answers lost after the server stored the request, stalls, garbage.
/// One request per connection; every answer it passes on says `Connection: close`.
final class FaultProxy: Sendable {
    enum Fault: Sendable, Equatable {
        case pass
        /// Answer with this status without forwarding (the server never sees the request).
        case status(Int)
        /// Answer with this status and `Retry-After` value without forwarding.
        case statusRetryAfter(Int, String)
        /// Answer 301 to this path without forwarding (an `http://` address of an `https://` city).
        case redirect(String)
        /// Forward, let the server store it, then close without answering.
        case dropAfterForward
        /// Forward, then answer 200 with a body that is not JSON.
        case garbageAfterForward
        /// Forward, then stall this many seconds before closing without an answer.
        case holdAfterForward(Double)
        /// Forward, then answer after this many seconds (a slow server).
        case slow(Double)
        /// Forward without these query arguments: a server that ignores them.
        case ignore([String])
    }

    struct State {
        var postFaults: [Fault] = []
        var getFaults: [Fault] = []
        var posts = 0
        var gets = 0
        var open = true
    }

    let port: Int
    private let listener: Int32
    private let upstreamPort: Int
    private let state = Mutex(State())

    init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        listener = fd
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    /// Faults for the next POSTs and GETs, in order; when a list runs out, requests pass.
    func script(posts: [Fault] = [], gets: [Fault] = []) {
        state.withLock {
            $0.postFaults = posts
            $0.getFaults = gets
        }
    }

    var postsSeen: Int { state.withLock { $0.posts } }
    var getsSeen: Int { state.withLock { $0.gets } }

    func close() {
        state.withLock { $0.open = false }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    private func acceptLoop() {
        while state.withLock({ $0.open }) {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            let t = Thread { [self] in handle(client) }
            t.start()
        }
    }

    private func handle(_ client: Int32) {
        defer { Glibc.close(client) }
        guard let request = readRequest(client) else { return }
        let isPost = request.starts(with: Array("POST".utf8))
        let fault: Fault = state.withLock { s in
            if isPost {
                s.posts += 1
                return s.postFaults.isEmpty ? .pass : s.postFaults.removeFirst()
            }
            s.gets += 1
            return s.getFaults.isEmpty ? .pass : s.getFaults.removeFirst()
        }
        if case .status(let code) = fault {
            let body = "[{\"code\":\(code),\"description\":\"injected fault \(code)\"}]"
            writeAll(client, Array("HTTP/1.1 \(code) Injected\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8))
            return
        }
        if case .statusRetryAfter(let code, let after) = fault {
            writeAll(client, Array("HTTP/1.1 \(code) Injected\r\nRetry-After: \(after)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
            return
        }
        if case .redirect(let path) = fault {
            writeAll(client, Array("HTTP/1.1 301 Moved Permanently\r\nLocation: \(path)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
            return
        }
        var forwarded = request
        if case .ignore(let names) = fault { forwarded = Self.without(names, request) }
        let response = forward(forwarded)
        switch fault {
        case .pass, .ignore:
            writeAll(client, Self.withConnectionClose(response))
        case .garbageAfterForward:
            let body = "<html><body>Service Unavailable</body></html>"
            writeAll(client, Array("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8))
        case .holdAfterForward(let seconds):
            Thread.sleep(forTimeInterval: seconds)
        case .slow(let seconds):
            Thread.sleep(forTimeInterval: seconds)
            writeAll(client, Self.withConnectionClose(response))
        case .dropAfterForward, .status, .statusRetryAfter, .redirect:
            break
        }
    }

    /// The request with the query arguments `names` taken out of its request line.
    static func without(_ names: [String], _ request: [UInt8]) -> [UInt8] {
        guard let lineEnd = find(Array("\r\n".utf8), in: request) else { return request }
        var line = String(decoding: request[0..<lineEnd], as: UTF8.self)
        for name in names {
            line = line.replacingOccurrences(of: "([?&])\(name)=[^& ]*&?", with: "$1", options: .regularExpression)
        }
        line = line.replacingOccurrences(of: "[?&] ", with: " ", options: .regularExpression)
        return Array(line.utf8) + request[lineEnd...]
    }

    /// Head and body (by Content-Length) of one request, with `Connection: close` set.
    private func readRequest(_ fd: Int32) -> [UInt8]? {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var headEnd: Int?
        while headEnd == nil {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { return nil }
            buffer += chunk[0..<n]
            headEnd = Self.find(Array("\r\n\r\n".utf8), in: buffer).map { $0 + 4 }
        }
        let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
        var length = 0
        var lines: [String] = []
        for line in head.components(separatedBy: "\r\n") where !line.isEmpty {
            let lower = line.lowercased()
            if lower.hasPrefix("content-length:") { length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0 }
            if lower.hasPrefix("connection:") { continue }
            lines.append(line)
        }
        while buffer.count < headEnd! + length {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { return nil }
            buffer += chunk[0..<n]
        }
        return Array((lines + ["Connection: close", "", ""]).joined(separator: "\r\n").utf8) + buffer[headEnd!..<(headEnd! + length)]
    }

    private func forward(_ request: [UInt8]) -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(upstreamPort).bigEndian
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { return [] }
        writeAll(fd, request)
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            response += chunk[0..<n]
        }
        return response
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    static func withConnectionClose(_ response: [UInt8]) -> [UInt8] {
        guard let end = find(Array("\r\n\r\n".utf8), in: response) else { return response }
        let head = String(decoding: response[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
            .filter { !$0.lowercased().hasPrefix("connection:") } + ["Connection: close"]
        return Array((head.joined(separator: "\r\n") + "\r\n\r\n").utf8) + response[(end + 4)...]
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }
}
