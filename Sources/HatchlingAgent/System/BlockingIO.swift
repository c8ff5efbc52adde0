import Dispatch

/// Runs blocking system calls (a socket with a timeout, a child process) off Swift's cooperative
/// thread pool, which has one thread per core here: two slow probes must not stall everything.
enum BlockingIO {
    private static let queue = DispatchQueue(label: "hatchling-agent.blocking-io", attributes: .concurrent)

    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: work()) }
        }
    }
}
