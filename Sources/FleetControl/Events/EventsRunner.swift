import FleetProtocol
import HatchlingSystem

/// `fleetctl events`: follows the hatchlings' events, one line each, until stopped.
public enum EventsRunner {
    /// The hatchlings of `events NAME...`, each checked (a usage error names the bad one), each once.
    public static func names(_ texts: [String]) throws(FleetctlError) -> [HatchlingName] {
        var names: [HatchlingName] = []
        for text in texts {
            let name: HatchlingName
            do {
                name = try HatchlingName(validating: text)
            } catch {
                throw .setting(name: "hatchling name '\(TerminalText.clean(text))'", problem: error.description)
            }
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// Subscribes (QoS 1) to the event topics of `names`, or of every hatchling, and writes each
    /// event to `output` (`FleetEvent.line`, or `jsonLine` with `json`) until `stop` is set.
    ///
    /// A message that is not an event of the contract is never written there: `log` gets a
    /// warning, bounded by a `WarningGate`. A broker that cannot be used at the start is an error
    /// (exit 3); a connection lost later is made again (1 s doubling to 30 s), and `log` says so,
    /// since events published meanwhile are lost (a fresh clean session each time).
    public static func run(
        settings: ConnectionSettings, names: [HatchlingName], json: Bool, stop: StopSignal,
        output: ([UInt8]) -> Void = { Terminal.write(fd: 1, $0) }, log: FleetctlLog = .standardError
    ) async throws(FleetctlError) {
        let root = settings.topicRoot
        let filters = names.isEmpty ? [FleetEvent.filter(root: root)] : names.map { settings.topics(for: $0).event }
        var hub = try await follow(settings, filters)
        log.info("fleetctl events: following \(filters.joined(separator: ", ")) on \(hub.broker); Ctrl-C to stop")
        var warnings = WarningGate()
        var shown = 0
        var malformed = 0
        while !stop.isStopped {
            guard let message = await hub.next(timeout: 0.25) else {
                guard let ended = hub.ended else { continue }
                hub.close()
                log.warning("fleetctl events: \(ended); reconnecting (events published meanwhile are not shown)")
                guard let again = await reconnect(settings, filters, stop: stop, log: log) else { break }
                hub = again
                log.info("fleetctl events: following again on \(hub.broker)")
                continue
            }
            switch FleetEvent.read(message, root: root) {
            case .event(let event):
                shown += 1
                output(json ? event.jsonLine : Array((event.line + "\n").utf8))
            case .malformed(let topic, let problem):
                malformed += 1
                let warning = "fleetctl events: not an event, on \(topic) (\(message.payload.count) bytes): \(problem)"
                if let line = warnings.admit(warning, at: Monotonic.seconds()) { log.warning(line) }
            case .other:
                break
            }
        }
        hub.close()
        let held = warnings.heldBack > 0 ? " (\(warnings.heldBack) warnings held back)" : ""
        log.info("fleetctl events: stopped; \(shown) event\(shown == 1 ? "" : "s") shown, \(malformed) malformed\(held)")
    }

    /// Connects and subscribes at QoS 1.
    static func follow(_ settings: ConnectionSettings, _ filters: [String]) async throws(FleetctlError) -> HubConnection {
        let hub = try await HubConnection.connect(settings)
        do {
            try await hub.subscribe(filters, qos: 1)
        } catch {
            hub.close()
            throw error
        }
        return hub
    }

    /// `follow` again and again, with backoff, until it works; nil when `stop` is set first.
    static func reconnect(
        _ settings: ConnectionSettings, _ filters: [String], stop: StopSignal, log: FleetctlLog
    ) async -> HubConnection? {
        var backoff = 1.0
        while !stop.isStopped {
            do {
                return try await follow(settings, filters)
            } catch {
                log.warning("fleetctl events: not connected: \(error); next attempt in \(Int(backoff)) s")
                await LiveFleet.pause(backoff, stop: stop)
                backoff = min(backoff * 2, 30)
            }
        }
        return nil
    }
}
