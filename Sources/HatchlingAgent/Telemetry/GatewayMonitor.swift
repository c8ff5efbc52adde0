import FleetProtocol
import HatchlingSystem
import Synchronization

/// Probes the gateway's health endpoint and remembers the last result, so that a heartbeat never
/// waits for a gateway that hangs: it reports the last result instead.
public final class GatewayMonitor: Sendable {
    /// The longest a probe may take.
    public static let timeout = 2.0
    private let last = Mutex<ProbeResult?>(nil)

    public init() {}

    /// Probes now, blocking this thread for up to `timeout` (the I/O worker's), and records the result.
    @discardableResult
    public func probe(_ url: HTTPURL) -> ProbeResult {
        let result = HTTPProbe.get(url, timeout: GatewayMonitor.timeout)
        last.withLock { $0 = result }
        return result
    }

    /// The last result, or nil before the first probe has finished.
    public var lastResult: ProbeResult? { last.withLock { $0 } }

    /// The `gateway` section for a result (nil: not probed yet). `withAge` adds how old it is, for
    /// heartbeats, which report the last probe rather than wait for a new one.
    public static func section(for result: ProbeResult?, withAge: Bool = false) -> Heartbeat.GatewaySection {
        guard let result else { return Heartbeat.GatewaySection(ok: false, httpStatus: nil, latencyMs: nil, error: "not probed yet") }
        let age = withAge ? max(0, ((Monotonic.seconds() - result.finishedAt) * 100).rounded() / 100) : nil
        return Heartbeat.GatewaySection(
            ok: result.ok, httpStatus: result.httpStatus, latencyMs: result.latencyMs, error: result.error, ageS: age)
    }
}
