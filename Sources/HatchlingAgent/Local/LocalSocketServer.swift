import CSystem
import FleetProtocol
import HatchlingSystem
import Synchronization

/// The agent's local socket: a Unix stream socket served by one thread of its own, one request per
/// connection (`LocalProtocol`).
///
/// Whoever can reach the socket is not trusted (it is the gateway, an AI that runs tools on
/// untrusted text), so everything is bounded: at most `maximumClients` connections at once from
/// other users (the next gets `busy`), a request of at most 4096 bytes that must arrive within
/// `requestSeconds`, and an answer within `answerSeconds` (else `timeout`). Root and the agent's
/// own user have `reservedClients` slots of their own: a gateway that holds every other slot with
/// silent connections cannot starve a `health` check run by root. One thread and `poll`: a client
/// that sends nothing costs a slot until its deadline, never a thread. Who may connect is decided
/// by the socket's folder (the entrypoint makes it the agent's, reachable by the gateway's group
/// only) and the socket's mode, 0660.
final class LocalSocketServer: Sendable {
    static let maximumClients = 8
    static let reservedClients = 4
    /// `publish` and `health` send their line as soon as they are connected.
    static let requestSeconds = 1.0
    /// A publish waits for the broker's PUBACK.
    static let answerSeconds = 5.0

    /// A client's user and process, from the kernel (SO_PEERCRED), for the log.
    struct Peer: Sendable, CustomStringConvertible {
        var pid: Int32
        var uid: UInt32
        var description: String { "uid \(uid) pid \(pid)" }
    }

    /// Called on the server's thread with each request; `answer` may be called then or later, from
    /// any thread, once. It must not block.
    typealias Handler =
        @Sendable (
            _ request: Result<LocalProtocol.Request, LocalProtocol.Failure>, _ peer: Peer,
            _ answer: @escaping @Sendable (LocalProtocol.Answer) -> Void
        ) -> Void

    enum SetupError: Error, CustomStringConvertible {
        case inUse(String)
        case notASocket(String)
        case system(String, Int32)

        var description: String {
            switch self {
            case .inUse(let path): "another process answers on \(path) (a second agent in this container?)"
            case .notASocket(let path): "\(path) exists and is not a socket; it was left as it is"
            case .system(let call, let code): "\(call): \(String(cString: strerror(code)))"
            }
        }
    }

    let path: String
    private let listener: Int32
    private let wake: (read: Int32, write: Int32)
    private let inode: ino_t
    private let handler: Handler
    /// Answers made on other threads, by client number, for the server's thread to write.
    private let answered = Mutex<[(client: UInt64, bytes: [UInt8])]>([])
    private let stopping = Atomic<Bool>(false)
    /// Whether the wake pipe is still open: an answer made after the server stopped must not
    /// write to a descriptor number the process may have reused.
    private let wakeOpen = Mutex<Bool>(true)

    /// Binds `path` (a stale socket left by an earlier run is replaced; anything else is not) and
    /// starts serving. The socket is made in a private folder beside `path`, given its mode there
    /// and renamed into place: no one can swap a link in between for `chmod` to follow.
    init(path: String, handler: @escaping Handler) throws(SetupError) {
        self.path = path
        self.handler = handler
        var existing = stat()
        if lstat(path, &existing) == 0 {
            guard existing.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(path) }
            if Self.answers(path) { throw .inUse(path) }
        }
        let folder = (path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
        var template = Array("\(folder.isEmpty ? "" : folder)/.agent-sock-XXXXXX".utf8CString)
        guard let privateFolder = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) }) else {
            throw .system("mkdtemp(\(folder))", errno)
        }
        let staging = privateFolder + "/agent.sock"
        defer { rmdir(privateFolder) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        var address = Self.address(staging)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw .system("bind(\(staging))", code)
        }
        var info = stat()
        guard chmod(staging, 0o660) == 0, lstat(staging, &info) == 0, listen(fd, 16) == 0, rename(staging, path) == 0 else {
            let code = errno
            close(fd)
            unlink(staging)
            throw .system("chmod/listen/rename(\(path))", code)
        }
        var pipeFDs: [Int32] = [0, 0]
        guard hatchling_pipe2(&pipeFDs, O_CLOEXEC | O_NONBLOCK) == 0 else {
            let code = errno
            close(fd)
            unlink(path)
            throw .system("pipe2", code)
        }
        listener = fd
        inode = info.st_ino
        wake = (pipeFDs[0], pipeFDs[1])
        guard Threads.spawn(named: "local-socket", { [self] in serve() }) else {
            close(fd)
            unlink(path)
            throw .system("pthread_create", EAGAIN)
        }
    }

    /// Stops serving and removes the socket (if it is still this server's).
    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var info = stat()
        if lstat(path, &info) == 0, info.st_ino == inode { unlink(path) }
        poke()
    }

    private func poke() {
        wakeOpen.withLock { open in
            guard open else { return }
            var byte: UInt8 = 1
            _ = write(wake.write, &byte, 1)
        }
    }

    private struct Client {
        let number: UInt64
        let fd: Int32
        let peer: Peer
        /// Root or the agent's own user: counted against `reservedClients`.
        let privileged: Bool
        var received: [UInt8] = []
        var deadline: Double
        /// The answer being written, once there is one.
        var outgoing: [UInt8]? = nil
        var asked = false
    }

    private func serve() {
        var clients: [Client] = []
        var nextNumber: UInt64 = 0
        defer {
            for client in clients { close(client.fd) }
            close(listener)
            wakeOpen.withLock { open in
                open = false
                close(wake.read)
                close(wake.write)
            }
        }
        while !stopping.load(ordering: .acquiring) {
            var descriptors = [pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0), pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for client in clients {
                let events = client.outgoing != nil ? POLLOUT : (client.asked ? 0 : POLLIN)
                descriptors.append(pollfd(fd: client.fd, events: Int16(events), revents: 0))
            }
            let now = Monotonic.seconds()
            let nearest = clients.map(\.deadline).min().map { max(0, $0 - now) } ?? 3600
            let ready = poll(&descriptors, nfds_t(descriptors.count), Int32(min(nearest, 3600) * 1000) + 1)
            if ready < 0, errno != EINTR { return }
            if descriptors[0].revents != 0 {
                var sink = [UInt8](repeating: 0, count: 64)
                while read(wake.read, &sink, sink.count) > 0 {}
            }
            let answers = answered.withLock { pending -> [(client: UInt64, bytes: [UInt8])] in
                let taken = pending
                pending.removeAll()
                return taken
            }
            for answer in answers {
                if let index = clients.firstIndex(where: { $0.number == answer.client }), clients[index].outgoing == nil {
                    clients[index].outgoing = answer.bytes
                    clients[index].deadline = Monotonic.seconds() + Self.requestSeconds
                }
            }
            for (offset, descriptor) in descriptors.enumerated().dropFirst(2) where descriptor.revents != 0 {
                let index = offset - 2
                if clients[index].outgoing != nil {
                    writeAnswer(&clients[index])
                } else if !clients[index].asked {
                    readRequest(&clients[index])
                } else if descriptor.revents & Int16(POLLHUP | POLLERR) != 0 {
                    // Gone while its answer is pending: the answer, when it comes, is dropped.
                    clients[index].deadline = 0
                    clients[index].outgoing = []
                }
            }
            if descriptors[1].revents & Int16(POLLIN) != 0 {
                acceptClients(into: &clients, nextNumber: &nextNumber)
            }
            // Expired deadlines: a request that never came gets nothing; an answer that never
            // came gets `timeout`; an answer nobody reads is dropped.
            let later = Monotonic.seconds()
            for index in clients.indices where clients[index].deadline <= later && clients[index].fd >= 0 {
                if clients[index].asked, clients[index].outgoing == nil {
                    clients[index].outgoing = LocalProtocol.encode(
                        .failed(.init(.timeout, "the broker did not acknowledge the event within 5 s (it may still arrive)")))
                    clients[index].deadline = later + Self.requestSeconds
                    writeAnswer(&clients[index])
                } else {
                    close(clients[index].fd)
                    clients[index] = Client(
                        number: clients[index].number, fd: -1, peer: clients[index].peer, privileged: clients[index].privileged, deadline: 0)
                }
            }
            clients.removeAll { $0.fd < 0 }
        }
    }

    private func acceptClients(into clients: inout [Client], nextNumber: inout UInt64) {
        while true {
            let fd = hatchling_accept4(listener, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            guard fd >= 0 else { return }  // EAGAIN, or out of descriptors: the rest wait in the backlog
            let peer = Self.peer(of: fd)
            let privileged = peer.uid == 0 || peer.uid == geteuid()
            let limit = privileged ? Self.reservedClients : Self.maximumClients
            guard clients.count(where: { $0.privileged == privileged }) < limit else {
                let busy = LocalProtocol.encode(.failed(.init(.busy, "the agent is answering \(limit) requests; try again")))
                _ = busy.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(fd)
                continue
            }
            nextNumber += 1
            clients.append(
                Client(number: nextNumber, fd: fd, peer: peer, privileged: privileged, deadline: Monotonic.seconds() + Self.requestSeconds))
        }
    }

    private func readRequest(_ client: inout Client) {
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = read(client.fd, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { return }
            guard count > 0 else {
                // The client closed (or broke) its side before a whole line.
                client.deadline = 0
                client.asked = false
                return
            }
            client.received.append(contentsOf: buffer[0..<count])
            if let newline = client.received.firstIndex(of: 0x0A) {
                ask(&client, LocalProtocol.parse(client.received[..<newline]))
                return
            }
            if client.received.count >= LocalProtocol.maximumRequestBytes {
                ask(&client, .failure(.init(.tooLarge, "the request is over \(LocalProtocol.maximumRequestBytes) bytes")))
                return
            }
        }
    }

    private func ask(_ client: inout Client, _ request: Result<LocalProtocol.Request, LocalProtocol.Failure>) {
        client.asked = true
        client.received = []
        client.deadline = Monotonic.seconds() + Self.answerSeconds
        let number = client.number
        handler(request, client.peer) { [self] answer in
            answered.withLock { $0.append((number, LocalProtocol.encode(answer))) }
            poke()
        }
    }

    private func writeAnswer(_ client: inout Client) {
        guard var bytes = client.outgoing else { return }
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                client.outgoing = bytes
                return
            }
            guard count > 0 else { break }
            bytes.removeFirst(count)
        }
        // Written (or the client is gone): done with this one.
        client.deadline = 0
        client.outgoing = []
    }

    private static func peer(of fd: Int32) -> Peer {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        var credentials: (Int32, UInt32, UInt32) = (0, UInt32.max, UInt32.max)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        _ = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length)
        return Peer(pid: credentials.0, uid: credentials.1)
    }

    static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8.prefix(107))
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// Whether something listens on the socket at `path` now. Never waits: a listener whose backlog
    /// is full (EAGAIN) is one too.
    static func answers(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = address(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return connected == 0 || errno == EAGAIN || errno == EINPROGRESS
    }
}
