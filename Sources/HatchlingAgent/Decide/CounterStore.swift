import FleetProtocol
import Synchronization

/// The agent's counters, shared by the dispatcher, the connection and `status-report`.
public final class CounterStore: Sendable {
    private let counters = Mutex(AgentCounters())

    public init() {}

    public var snapshot: AgentCounters { counters.withLock { $0 } }

    public func update(_ change: (inout AgentCounters) -> Void) {
        counters.withLock { change(&$0) }
    }

    /// Counts one command by outcome: `ok` or its error code.
    public func countCommand(_ outcome: String) {
        counters.withLock { $0.commands[outcome, default: 0] += 1 }
    }
}
