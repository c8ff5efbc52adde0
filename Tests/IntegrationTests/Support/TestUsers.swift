import Foundation
import HatchlingSystem

/// Two throwaway system users for the entrypoint's privilege separation, `hl-gw-<random>` (the
/// gateway) and `hl-agent-<random>` (the agent), made with useradd (each with a group of its own)
/// and removed with userdel. Root only.
struct TestUsers: Sendable {
    struct User: Sendable {
        let name: String
        let uid: UInt32
        let gid: UInt32
    }

    let gateway: User
    let agent: User

    init() throws {
        let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(8).lowercased()
        gateway = try Self.make("hl-gw-\(suffix)")
        do {
            agent = try Self.make("hl-agent-\(suffix)")
        } catch {
            Self.delete(gateway.name)
            throw error
        }
    }

    private static func make(_ name: String) throws -> User {
        _ = try runProgram(
            try which("useradd"),
            ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name])
        guard let entry = getpwnam(name) else { throw TestError("useradd made no user \(name)") }
        return User(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    private static func delete(_ name: String) {
        _ = try? runProcess(try which("userdel"), [name])
    }

    func remove() {
        Self.delete(gateway.name)
        Self.delete(agent.name)
    }

    /// The environment that names them to template/entrypoint.sh.
    var environment: [String: String] { ["GATEWAY_USER": gateway.name, "AGENT_USER": agent.name] }

    /// Runs a program as `user` (no supplementary groups), to completion.
    static func run(as user: User, _ program: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProcess(
            try which("setpriv"), ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--", program] + arguments,
            environment: ["PATH": "/usr/bin:/bin"])
    }
}

/// The real and effective user ids of a process (the `Uid:` line of /proc/<pid>/status).
func processUIDs(_ pid: pid_t) -> [UInt32] {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") })
    else { return [] }
    return line.dropFirst(4).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) }
}

/// A process's environment names (reading /proc/<pid>/environ; root reads any).
func processEnvironmentNames(_ pid: pid_t) -> Set<String> {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [] }
    return Set(data.split(separator: 0).map { String(decoding: $0.prefix(while: { $0 != UInt8(ascii: "=") }), as: UTF8.self) })
}
