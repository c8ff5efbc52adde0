import FleetProtocol
import HatchlingSystem

/// The other end of the local socket, for `hatchling-agent publish` and `health`: connect, send one
/// request, read one answer, all within a deadline. Never hangs: no agent, a full backlog or a
/// silent agent each end in an error that says which.
public enum LocalClient {
    /// `publish`'s exit statuses (documented in --help and docs/protocol.md).
    public enum ExitStatus {
        public static let published: Int32 = 0
        /// The agent refused the event (the reason is on standard error): as it is, it will never go
        /// out, except `rate-limited`, which may a minute later.
        public static let refused: Int32 = 1
        public static let usage: Int32 = 2
        /// No agent, the agent is not connected, or the broker did not acknowledge: try again later.
        public static let unavailable: Int32 = 3
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Sends `request` to the agent at `path` and returns its answer; fails after `seconds`.
    public static func ask(_ request: LocalProtocol.Request, socket path: String, within seconds: Double) -> Result<LocalProtocol.Answer, Failure> {
        let deadline = Monotonic.seconds() + seconds
        if let problem = LocalProtocol.socketPathProblem(path) {
            return .failure(Failure(description: "HATCHLING_AGENT_SOCKET \(problem)"))
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .failure(Failure(description: "socket: \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        var address = LocalSocketServer.address(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected != 0 {
            let code = errno
            switch code {
            case ENOENT:
                return .failure(
                    Failure(description: "no agent: \(path) does not exist (is hatchling-agent running, with the same HATCHLING_AGENT_SOCKET?)"))
            case ECONNREFUSED:
                return .failure(Failure(description: "no agent: nothing answers on \(path) (the agent stopped or is restarting)"))
            case EACCES, EPERM:
                return .failure(Failure(description: "not allowed to connect to \(path): \(String(cString: strerror(code)))"))
            case EAGAIN, EINPROGRESS:
                // A Unix socket's backlog is full: the agent is not taking connections now.
                return .failure(Failure(description: "the agent at \(path) is not taking connections now (backlog full); try again"))
            default:
                return .failure(Failure(description: "cannot connect to \(path): \(String(cString: strerror(code)))"))
            }
        }
        var outgoing = LocalProtocol.encode(request)[...]
        var received: [UInt8] = []
        while true {
            let remaining = deadline - Monotonic.seconds()
            guard remaining > 0 else {
                return .failure(Failure(description: "no answer from the agent at \(path) within \(AgentConfiguration.format(seconds)) s"))
            }
            var descriptor = pollfd(fd: fd, events: Int16(outgoing.isEmpty ? POLLIN : POLLOUT), revents: 0)
            let ready = poll(&descriptor, 1, Int32(remaining * 1000) + 1)
            if ready < 0, errno != EINTR { return .failure(Failure(description: "poll: \(String(cString: strerror(errno)))")) }
            guard ready > 0 else { continue }
            if !outgoing.isEmpty {
                let count = outgoing.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if count < 0, errno == EINTR || errno == EAGAIN { continue }
                if count < 0, errno == EPIPE || errno == ECONNRESET {
                    // The agent answered before it read everything (busy, too-large) and closed:
                    // its answer is still there to read.
                    outgoing = []
                    continue
                }
                guard count > 0 else { return .failure(Failure(description: "the agent closed the connection: \(String(cString: strerror(errno)))")) }
                outgoing = outgoing.dropFirst(count)
                continue
            }
            var buffer = [UInt8](repeating: 0, count: 1024)
            let count = read(fd, &buffer, buffer.count)
            if count < 0, errno == EINTR || errno == EAGAIN { continue }
            guard count > 0 else {
                return .failure(Failure(description: "the agent closed the connection without an answer (is it stopping?)"))
            }
            received.append(contentsOf: buffer[0..<count])
            if let newline = received.firstIndex(of: 0x0A) {
                guard let answer = LocalProtocol.parseAnswer(received[..<newline]) else {
                    return .failure(Failure(description: "the agent's answer is not one this program understands"))
                }
                return .success(answer)
            }
            guard received.count < 4096 else { return .failure(Failure(description: "the agent's answer is too long")) }
        }
    }
}
