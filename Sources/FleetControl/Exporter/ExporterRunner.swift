import FleetProtocol
import Synchronization

/// `fleetctl exporter`: a live view of the fleet served as Prometheus metrics until stopped.
public enum ExporterRunner {
    final class Shared: Sendable {
        let state: Mutex<(view: FleetView, connected: Bool)>
        init(root: String) { state = Mutex((FleetView(root: root), false)) }
    }

    /// Listens, then follows the bus until `stop` is set; `log` gets one line per change of the
    /// broker connection and the address served.
    public static func run(
        settings: ConnectionSettings, listen: ListenAddress, stop: StopSignal, log: (String) -> Void = Terminal.error
    ) async throws(FleetctlError) {
        let shared = Shared(root: settings.topicRoot)
        let server = try MetricsHTTPServer(listen: listen) {
            let (view, connected) = shared.state.withLock { ($0.view, $0.connected) }
            return MetricsRenderer.render(view.summaries(now: .now()), brokerConnected: connected)
        }
        server.start()
        defer { server.stop() }
        let shown = ListenAddress(host: listen.host.isEmpty ? "0.0.0.0" : listen.host, port: server.port)
        log("fleetctl exporter: serving http://\(shown)/metrics for \(settings.endpoint)")
        var last: LiveConnection? = nil
        await LiveFleet.run(settings: settings, stop: stop) { view, connection, _ in
            shared.state.withLock { $0 = (view, connection == .connected) }
            if connection != last {
                switch connection {
                case .connected: log("fleetctl exporter: connected to \(settings.endpoint)")
                case .disconnected(let reason): log("fleetctl exporter: not connected: \(reason)")
                }
                last = connection
            }
        }
        log("fleetctl exporter: stopped")
    }
}

/// `fleetctl watch`: the status table and the last events, live, until stopped.
public enum WatchRunner {
    /// Draws frames until `stop` is set; `ansi` clears the screen between them.
    public static func run(settings: ConnectionSettings, stop: StopSignal, ansi: Bool, output: (String) -> Void = Terminal.out) async {
        var screen = WatchScreen(ansi: ansi)
        var events = RecentEvents()
        let source = settings.endpoint.description
        let root = settings.topicRoot
        await LiveFleet.run(
            settings: settings, stop: stop, tick: 0.25, follow: [FleetEvent.filter(root: root)],
            other: { events.apply($0, root: root) }
        ) { view, connection, changed in
            if let frame = screen.frame(
                view: view, events: events, connection: connection, changed: changed, now: .now(), at: Monotonic.now(), source: source)
            {
                output(frame)
            }
        }
    }
}
