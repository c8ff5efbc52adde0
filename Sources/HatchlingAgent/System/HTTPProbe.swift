import HatchlingSystem

/// The outcome of one probe of the gateway's health endpoint.
public struct ProbeResult: Sendable, Equatable {
    public var ok: Bool
    public var httpStatus: Int?
    public var latencyMs: Int?
    /// A fixed phrase (`connection refused`, `timeout`, ...), never text from the peer.
    public var error: String?
    /// When the probe finished, on the monotonic clock (for the result's age).
    public var finishedAt: Double
}

/// A minimal HTTP/1.0 GET over a POSIX socket with one deadline for the whole exchange.
///
/// It reads only the status line. Written here rather than pulled in from a networking package:
/// those bring full Foundation (ICU) or SwiftNIO, several MiB for one GET to localhost.
public enum HTTPProbe {
    public static func get(_ url: HTTPURL, timeout: Double) -> ProbeResult {
        let start = Monotonic.seconds()
        let deadline = start + timeout
        func finish(_ status: Int?, _ error: String?) -> ProbeResult {
            let end = Monotonic.seconds()
            let ok = error == nil && (status.map { (200..<300).contains($0) } ?? false)
            return ProbeResult(
                ok: ok, httpStatus: status, latencyMs: Int(((end - start) * 1000).rounded()),
                error: error ?? (ok ? nil : "http status \(status ?? 0)"), finishedAt: end)
        }

        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(url.host, String(url.port), &hints, &list) == 0, let first = list else {
            return finish(nil, "name not resolved")
        }
        defer { freeaddrinfo(list) }

        var lastError = "connection failed"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            switch connectSocket(fd, info.pointee.ai_addr, info.pointee.ai_addrlen, deadline: deadline) {
            case .failure(let phrase):
                lastError = phrase
                if phrase == "timeout" { return finish(nil, phrase) }
                continue
            case .success:
                break
            }
            let hostHeader = url.host.contains(":") ? "[\(url.host)]:\(url.port)" : "\(url.host):\(url.port)"
            let request = Array("GET \(url.path) HTTP/1.0\r\nHost: \(hostHeader)\r\nUser-Agent: hatchling-agent\r\nConnection: close\r\n\r\n".utf8)
            guard sendAll(fd, request, deadline: deadline) else { return finish(nil, Monotonic.seconds() >= deadline ? "timeout" : "send failed") }
            switch readStatus(fd, deadline: deadline) {
            case .success(let status): return finish(status, nil)
            case .failure(let failure): return finish(nil, failure.phrase)
            }
        }
        return finish(nil, lastError)
    }

    struct Failure: Error {
        var phrase: String
    }

    private enum Step {
        case success
        case failure(String)
    }

    private static func wait(_ fd: Int32, for events: Int16, deadline: Double) -> Bool {
        while true {
            let remaining = deadline - Monotonic.seconds()
            if remaining <= 0 { return false }
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return false }
        }
    }

    private static func connectSocket(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t, deadline: Double) -> Step {
        if connect(fd, address, length) == 0 { return .success }
        guard errno == EINPROGRESS || errno == EINTR else { return .failure(phrase(for: errno)) }
        guard wait(fd, for: Int16(POLLOUT), deadline: deadline) else { return .failure("timeout") }
        var socketError: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &size)
        return socketError == 0 ? .success : .failure(phrase(for: socketError))
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8], deadline: Double) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent > 0 {
                offset += sent
            } else if sent < 0 && (errno == EAGAIN || errno == EINTR) {
                guard wait(fd, for: Int16(POLLOUT), deadline: deadline) else { return false }
            } else {
                return false
            }
        }
        return true
    }

    private static func readStatus(_ fd: Int32, deadline: Double) -> Result<Int, Failure> {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while buffer.count < 1024 {
            if let end = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                return parseStatusLine(buffer[..<end]).map { .success($0) } ?? .failure(Failure(phrase: "bad response"))
            }
            guard wait(fd, for: Int16(POLLIN), deadline: deadline) else { return .failure(Failure(phrase: "timeout")) }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                return parseStatusLine(buffer[...]).map { .success($0) } ?? .failure(Failure(phrase: "closed without a response"))
            } else if errno != EAGAIN && errno != EINTR {
                return .failure(Failure(phrase: phrase(for: errno)))
            }
        }
        return .failure(Failure(phrase: "bad response"))
    }

    /// `HTTP/1.1 200 OK` to 200.
    static func parseStatusLine(_ line: ArraySlice<UInt8>) -> Int? {
        let text = String(decoding: line, as: UTF8.self)
        let parts = text.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), parts[1].count == 3, let status = Int(parts[1]) else { return nil }
        return status
    }

    private static func phrase(for code: Int32) -> String {
        switch code {
        case ECONNREFUSED: "connection refused"
        case ETIMEDOUT: "timeout"
        case EHOSTUNREACH, ENETUNREACH: "unreachable"
        case ECONNRESET: "connection reset"
        default: "connection failed"
        }
    }
}
