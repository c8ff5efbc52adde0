import HatchlingSystem
import Synchronization
import Testing

@testable import HatchlingAgent

@Suite("SignalWatcher")
struct SignalWatcherTests {
    @Test("a signal sent the moment the watcher exists is handled, not lost; after cancel it is caught and dropped")
    func noWindow() async throws {
        let seen = Mutex<[Int32]>([])
        // SIGUSR2: nothing else in the test process uses it.
        let watcher = SignalWatcher(signals: [SIGUSR2]) { number in seen.withLock { $0.append(number) } }
        for _ in 0..<3 { kill(getpid(), SIGUSR2) }
        var waited = 0.0
        while seen.withLock({ $0.count }) < 1, waited < 20 {
            try await Task.sleep(for: .milliseconds(20))
            waited += 0.02
        }
        // Signals of one kind may merge while pending; at least one arrives, and only SIGUSR2.
        let numbers = seen.withLock { $0 }
        #expect(!numbers.isEmpty && numbers.allSatisfy { $0 == SIGUSR2 })
        watcher.cancel()
        let before = seen.withLock { $0.count }
        kill(getpid(), SIGUSR2)  // the default action would end the test process
        try await Task.sleep(for: .milliseconds(200))
        #expect(seen.withLock { $0.count } == before)
    }
}

@Suite("Supervisor's worker")
struct SupervisedWorkerTests {
    @Test("a worker runs only while the supervisor that started it is its parent (one that died is replaced by tini, init or a subreaper)")
    func supervisedOnlyByItsStarter() {
        #expect(ProcessSupervisor.isSupervised(parent: 4242, supervisor: 4242))
        #expect(!ProcessSupervisor.isSupervised(parent: 1, supervisor: 4242), "reparented to init or tini")
        #expect(!ProcessSupervisor.isSupervised(parent: 77, supervisor: 4242), "reparented to a subreaper")
        // A supervisor that is PID 1 (a container without an init) takes the namespace with it.
        #expect(ProcessSupervisor.isSupervised(parent: 1, supervisor: 1))
    }
}
