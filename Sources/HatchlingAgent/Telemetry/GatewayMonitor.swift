import FleetProtocol
import Synchronization

/// Probes the gateway's health endpoint and remembers the last result, so that a heartbeat never
/// waits for a gateway that hangs: it reports the last result instead.
public final class GatewayMonitor: Sendable {
    /// The longest a probe may take.
    public static let timeout = 2.0
    private let last = Mutex<ProbeResult?>(nil)

    public init() {}

    /// Probes now (off the cooperative pool) and records the result.
    @discardableResult
    public func probe(_ url: HTTPURL) async -> ProbeResult {
        let result = await BlockingIO.run { HTTPProbe.get(url, timeout: GatewayMonitor.timeout) }
        last.withLock { $0 = result }
        return result
    }

    /// The last result, or nil before the first probe has finished.
    public var lastResult: ProbeResult? { last.withLock { $0 } }

    /// The heartbeat's `gateway` section for a result (nil: not probed yet).
    public static func section(for result: ProbeResult?) -> Heartbeat.GatewaySection {
        guard let result else { return Heartbeat.GatewaySection(ok: false, httpStatus: nil, latencyMs: nil, error: "not probed yet") }
        return Heartbeat.GatewaySection(ok: result.ok, httpStatus: result.httpStatus, latencyMs: result.latencyMs, error: result.error)
    }
}
