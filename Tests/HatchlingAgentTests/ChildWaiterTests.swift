import Testing

@testable import HatchlingAgent

#if canImport(Glibc)
import Glibc
#endif

@Suite("ChildWaiter and the worker's exit status")
struct ChildWaiterTests {
    /// Waits for `pid` through `ChildWaiter`, and returns what it reported (nil: no status).
    func waited(for pid: pid_t) async -> Int32? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
            ChildWaiter.wait(for: pid) { continuation.resume(returning: $0) }
        }
    }

    /// Starts `/bin/sh -c script` as a child of the test process.
    func spawnShell(_ script: String) throws -> pid_t {
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", script]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let result = posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ)
        try #require(result == 0, "posix_spawn: \(result)")
        return pid
    }

    @Test("a process that is not our child: no status, which reads as neither an exit nor a signal")
    func notOurChild() async {
        let reported = await waited(for: getpid())
        #expect(reported == nil)
        let status = ProcessSupervisor.ExitStatus(waitStatus: reported)
        #expect(status == .unknown)
        #expect(!status.description.contains("signal") && !status.description.contains("exit status"), "\(status)")
    }

    @Test("a child's exit code and a child's signal are reported as such")
    func realStatuses() async throws {
        let exited = await waited(for: try spawnShell("exit 3"))
        #expect(ProcessSupervisor.ExitStatus(waitStatus: exited) == .exited(3))

        let killed = await waited(for: try spawnShell("kill -KILL $$"))
        #expect(ProcessSupervisor.ExitStatus(waitStatus: killed) == .signaled(SIGKILL))
    }

    @Test("wait statuses decode to exits and signals; no status decodes to unknown")
    func decoding() {
        #expect(ProcessSupervisor.ExitStatus(waitStatus: 0) == .exited(0))
        #expect(ProcessSupervisor.ExitStatus(waitStatus: 2 << 8) == .exited(2))
        #expect(ProcessSupervisor.ExitStatus(waitStatus: SIGTERM) == .signaled(SIGTERM))
        #expect(ProcessSupervisor.ExitStatus(waitStatus: nil) == .unknown)
        #expect(ProcessSupervisor.ExitStatus.signaled(SIGKILL).description == "signal 9 (SIGKILL)")
    }
}
