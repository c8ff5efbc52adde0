import Dispatch
import FleetProtocol
import FoundationEssentials
import HatchlingSystem
import MosquittoClient
import Synchronization

/// The fleet at an instant, for `status` (table or JSON) and each frame of `watch`.
public struct FleetStatusReport: Sendable, Equatable, Encodable {
    /// When the view was computed (ages are relative to it).
    public var generatedAt: FleetTimestamp
    /// Every hatchling, sorted by name.
    public var hatchlings: [HatchlingSummary]
    /// How many are online, offline and stale.
    public var counts: [String: Int]

    /// The wire names, snake_case already (`json()` converts no key).
    enum CodingKeys: String, CodingKey {
        case generatedAt = "generated_at"
        case hatchlings, counts
    }

    /// The report of `view` at `now`.
    public init(view: FleetView, now: FleetTimestamp) {
        generatedAt = now
        hatchlings = view.summaries(now: now)
        var counts = ["online": 0, "offline": 0, "stale": 0]
        for summary in hatchlings { counts[summary.state.rawValue, default: 0] += 1 }
        self.counts = counts
    }

    /// The report as JSON for scripts.
    public func json() throws -> String {
        try FleetJSON.encodePretty(self, keysAsWritten: true) + "\n"
    }

    /// The table people read. Figures are shown for online hatchlings only.
    public func table() -> String {
        let rows = hatchlings.map { h -> [String] in
            var state = h.state.rawValue
            if let reason = h.reason { state += " (\(reason))" }
            let beat =
                h.heartbeatAgeS.map { age in
                    Figures.duration(age) + " ago" + (h.heartbeatIntervalS.map { " /\($0)s" } ?? "")
                } ?? "-"
            var memory = Figures.bytes(h.memoryCurrentBytes)
            if h.memoryCurrentBytes != nil, let limit = h.memoryLimitBytes {
                memory += " / " + Figures.bytes(limit) + (h.memoryPct.map { " (\(Figures.decimal($0, places: 0))%)" } ?? "")
            }
            let disk = h.diskFreeBytes.map { Figures.bytes($0) + (h.diskFreePct.map { " (\(Figures.decimal($0, places: 0))%)" } ?? "") } ?? "-"
            return [
                h.name, state, h.bootId.map { String($0.prefix(8)) } ?? "-", beat, h.health ?? "-", memory,
                h.cpuPct.map { Figures.decimal($0, places: 1) + "%" } ?? "-", disk,
                h.gatewayOk.map { $0 ? "ok" : "down" } ?? "-", h.agentVersion ?? "-",
            ]
        }
        var text = ""
        if !rows.isEmpty {
            text = TextTable.render(
                ["HATCHLING", "STATE", "BOOT", "HEARTBEAT", "HEALTH", "MEMORY", "CPU", "DISK FREE", "GATEWAY", "AGENT"], rows)
        }
        let problems = hatchlings.flatMap { h in h.problems.map { "\(h.name): \($0)" } }
        for problem in problems { text += "problem: \(problem)\n" }
        text +=
            "\(hatchlings.count) hatchling\(hatchlings.count == 1 ? "" : "s"): \(counts["online"] ?? 0) online, \(counts["offline"] ?? 0) offline, "
            + "\(counts["stale"] ?? 0) stale, at \(generatedAt)\n"
        return text
    }
}

/// `fleetctl status`: one snapshot of the retained status and heartbeat topics.
public enum FleetStatusRunner {
    /// Connects, reads every retained status and heartbeat (of `names` only, by their exact
    /// topics, when given), disconnects.
    public static func snapshot(settings: ConnectionSettings, names: [HatchlingName] = []) async throws(FleetctlError) -> FleetView {
        let hub = try await HubConnection.connect(settings)
        defer { hub.close() }
        let filters =
            names.isEmpty
            ? FleetView.filters(root: settings.topicRoot)
            : names.flatMap { [settings.topics(for: $0).status, settings.topics(for: $0).heartbeat] }
        // Messages are read (decoded) on a thread of their own while they arrive, so decoding
        // overlaps the broker's sending and the quiet time; what is left is read on every core.
        let root = settings.topicRoot
        let early = EarlyReader(hub: hub, root: root)
        DispatchQueue.global(qos: .userInitiated).async { early.run() }
        // QoS 0: the retained snapshot is not held back by the broker's QoS 1 in-flight window.
        do {
            try await hub.subscribeAndSettle(filters, qos: 0)
        } catch {
            early.finish()
            throw error
        }
        let readings = early.finish() + readings(of: hub.drain(), root: root)
        var view = FleetView(root: root)
        for case let reading? in readings { view.apply(reading) }
        return view
    }

    /// Drains the hub's inbox and reads what comes, until `finish`; then hands over its readings.
    final class EarlyReader: Sendable {
        let hub: HubConnection
        let root: String
        private let state = Mutex<(done: Bool, readings: [FleetView.Reading?])>((false, []))
        private let finished = DispatchSemaphore(value: 0)

        init(hub: HubConnection, root: String) {
            self.hub = hub
            self.root = root
        }

        func run() {
            defer { finished.signal() }
            while !state.withLock({ $0.done }) {
                let batch = hub.drain()
                if batch.isEmpty {
                    usleep(2000)
                    continue
                }
                let read = batch.map { FleetView.read($0, root: root) }
                state.withLock { $0.readings += read }
            }
        }

        /// Stops the reader (after its current batch) and returns what it read, in order.
        @discardableResult
        func finish() -> [FleetView.Reading?] {
            state.withLock { $0.done = true }
            finished.wait()
            return state.withLock { $0.readings }
        }
    }

    /// `messages` read on every core, in their order.
    static func readings(of messages: [MQTTMessage], root: String) -> [FleetView.Reading?] {
        let parts = min(max(1, ProcessInfo.processInfo.activeProcessorCount), max(1, messages.count / 500))
        let readings = Mutex([[FleetView.Reading?]](repeating: [], count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let slice = messages[(messages.count * part / parts)..<(messages.count * (part + 1) / parts)]
            let read = slice.map { FleetView.read($0, root: root) }
            readings.withLock { $0[part] = read }
        }
        return readings.withLock { $0.flatMap { $0 } }
    }
}
