import Dispatch
import HatchlingSystem
import Synchronization

/// A very small HTTP server on POSIX sockets for `/metrics`. One thread accepts; each connection
/// is answered on a thread of its own (at most `maximumConnections` at once; more get 503 at
/// once), reads at most 8 KiB within `readDeadline` seconds in all, writes the answer within
/// `writeDeadline` seconds, and closes. A client that trickles its request one byte at a time, or
/// never reads the answer, holds only its own connection, and only until its deadline.
///
/// Why not FlyingFox or hummingbird: both pull in full Foundation (ICU data, tens of MiB; see
/// docs/fleetctl.md) or SwiftNIO, for a server that answers one scrape every few seconds.
public final class MetricsHTTPServer: Sendable {
    /// The port bound (the one asked for, or the one the kernel picked for port 0).
    public let port: Int
    private let fd: Int32
    private let closed = Mutex(false)
    /// Signalled when the accept loop has returned.
    private let acceptLoopEnded = DispatchSemaphore(value: 0)
    private let metrics: @Sendable () -> [UInt8]
    private let active = Atomic<Int>(0)
    /// Connections answered at once; a scraper or two is the normal load.
    static let maximumConnections = 16
    /// Seconds a client has to send its whole request, and to take the whole answer.
    static let readDeadline = 2.0
    static let writeDeadline = 10.0
    /// Descriptors below the process's limit that a connection may never take.
    static let descriptorReserve: Int32 = 8
    /// A connection given a descriptor at or above this is refused (the soft `RLIMIT_NOFILE` less
    /// the reserve, read when the server is made).
    private let descriptorCeiling: Int32 = {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(Int32.max) else { return Int32.max }
        return Int32(clamping: max(Int(limit.rlim_cur) - Int(descriptorReserve), 1))
    }()

    /// Binds and listens at once, so a taken port is an error before anything else starts.
    public init(listen address: ListenAddress, metrics: @escaping @Sendable () -> [UInt8]) throws(FleetctlError) {
        self.metrics = metrics
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let lookup = getaddrinfo(address.host.isEmpty ? nil : address.host, String(address.port), &hints, &list)
        guard lookup == 0, let first = list else {
            throw .io("cannot listen on \(address): \(String(cString: gai_strerror(lookup)))")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = 0
        var bound: Int32 = -1
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry?.pointee, bound < 0 {
            entry = info.ai_next
            let candidate = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
            guard candidate >= 0 else { lastError = errno; continue }
            var one: Int32 = 1
            setsockopt(candidate, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if bind(candidate, info.ai_addr, info.ai_addrlen) == 0, listen(candidate, 16) == 0 {
                bound = candidate
            } else {
                lastError = errno
                close(candidate)
            }
        }
        guard bound >= 0 else {
            throw .io("cannot listen on \(address): \(String(cString: strerror(lastError))) (is the port taken?)")
        }
        fd = bound
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(bound, $0, &length) } }
        let family = Int32(storage.ss_family)
        port = withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    /// Starts accepting on a thread of its own; returns at once.
    ///
    /// Plain threads, not Dispatch queues: libdispatch traps (ud2) when it needs a descriptor and
    /// the process has none left, which is exactly when a flood of connections hits EMFILE.
    public func start() {
        startThread(named: "exporter-accept") { [self] in
            defer { acceptLoopEnded.signal() }
            var outOfDescriptors = false
            while !closed.withLock({ $0 }) {
                let client = Syscall.retryingRaw { accept(fd, nil, nil) }
                if client < 0 {
                    switch errno {
                    case ECONNABORTED: continue
                    case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                        // Out of descriptors or memory: the pending connection stays queued, so
                        // accepting again at once would spin. Wait for connections to close.
                        if !outOfDescriptors {
                            Terminal.log(
                                "fleetctl exporter: cannot accept a connection: \(String(cString: strerror(errno))); retrying every 0.1 s",
                                level: .warning)
                        }
                        outOfDescriptors = true
                        usleep(100_000)
                        continue
                    default: return  // the listening socket was shut down
                    }
                }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                // Descriptors are handed out lowest first, so a number this high means the process
                // is about to run out: refuse the connection and keep the last few for the broker
                // connection and libdispatch's timers (it traps when it cannot get one).
                if client >= descriptorCeiling {
                    refuse(client)
                    if !outOfDescriptors {
                        Terminal.log(
                            "fleetctl exporter: cannot accept a connection: descriptor \(client) of at most \(descriptorCeiling + Self.descriptorReserve) "
                                + "(the last \(Self.descriptorReserve) are kept for the broker and timers); answering 503 every 0.1 s",
                            level: .warning)
                    }
                    outOfDescriptors = true
                    usleep(100_000)
                    continue
                }
                outOfDescriptors = false
                guard active.wrappingAdd(1, ordering: .relaxed).oldValue < Self.maximumConnections else {
                    active.wrappingSubtract(1, ordering: .relaxed)
                    refuse(client)
                    continue
                }
                // A thread per connection: each one's deadlines are its own.
                startThread(named: "exporter-conn") { [self] in
                    serve(client)
                    active.wrappingSubtract(1, ordering: .relaxed)
                }
            }
        }
    }

    /// Answers 503 without reading: too many connections are open.
    private func refuse(_ client: Int32) {
        defer { close(client) }
        let bytes = HTTPExchange.serialize(HTTPExchange.Response(status: 503, body: Array("too many connections\n".utf8)), headOnly: false)
        _ = write(client, bytes, deadline: Monotonic.seconds() + 0.1)
    }

    /// Stops accepting and closes the listening socket.
    public func stop() {
        let first = closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        acceptLoopEnded.wait()  // the accept loop has returned
        close(fd)
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        let readBy = Monotonic.seconds() + Self.readDeadline
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        var parsed = HTTPExchange.Parsed.incomplete
        while parsed == .incomplete {
            guard wait(client, for: Int16(POLLIN), until: readBy) else { return }  // too slow, or gone
            let count = Syscall.retryingRaw { buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) } }
            if count < 0 && errno == EAGAIN { continue }
            guard count > 0 else { return }  // closed before a whole request
            request += buffer[0..<count]
            parsed = HTTPExchange.parse(request)
        }
        let response: HTTPExchange.Response
        var headOnly = false
        switch parsed {
        case .request(let method, let path):
            headOnly = method == "HEAD"
            response = HTTPExchange.respond(method: method, path: path, metrics: metrics)
        case .bad(let status):
            response = HTTPExchange.Response(status: status, body: Array("bad request\n".utf8))
        case .incomplete:
            return
        }
        // The header, then the body as it is: the body is shared by every connection that
        // scraped the same rendering (`RenderCache`), so no connection copies it.
        let deadline = Monotonic.seconds() + Self.writeDeadline
        guard write(client, HTTPExchange.header(response), deadline: deadline), !headOnly else { return }
        _ = write(client, response.body, deadline: deadline)
    }

    /// Writes all of `bytes` before `deadline`; false when the client was too slow or went away.
    private func write(_ client: Int32, _ bytes: [UInt8], deadline: Double) -> Bool {
        var offset = 0
        while offset < bytes.count {
            guard wait(client, for: Int16(POLLOUT), until: deadline) else { return false }
            let sent = Syscall.retryingRaw {
                bytes.withUnsafeBytes { send(client, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            }
            if sent < 0 && errno == EAGAIN { continue }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    /// Waits until `client` is ready for `events` or `deadline` passes; false on the deadline or an error.
    private func wait(_ client: Int32, for events: Int16, until deadline: Double) -> Bool {
        var entry = pollfd(fd: client, events: events, revents: 0)
        // Each try (the first, and one after EINTR) waits only for what is left until the deadline.
        let ready = Syscall.retryingRaw {
            let left = deadline - Monotonic.seconds()
            guard left > 0 else { return Int32(0) }
            return poll(&entry, 1, Int32(max(1, (left * 1000).rounded(.up))))
        }
        guard ready > 0 else { return false }
        return entry.revents & (events | Int16(POLLHUP)) != 0 && entry.revents & Int16(POLLERR | POLLNVAL) == 0
    }
}

/// Runs `body` on a thread of its own named `name`; with no thread to be had (EAGAIN), here: the
/// caller's loop waits meanwhile, which is the back-pressure.
private func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    if !Threads.spawn(named: name, body) { body() }
}
