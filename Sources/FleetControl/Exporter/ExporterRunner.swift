import FleetProtocol
import HatchlingSystem
import Synchronization

/// `fleetctl exporter`: a live view of the fleet served as Prometheus metrics until stopped.
public enum ExporterRunner {
    /// Listens, then follows the bus until `stop` is set; `log` gets one line per change of the
    /// broker connection and the address served.
    public static func run(
        settings: ConnectionSettings, listen: ListenAddress, stop: StopSignal, log: FleetctlLog = .standardError
    ) async throws(FleetctlError) {
        let store = FleetStore(root: settings.topicRoot)
        // A scrape renders under the store's lock, in one pass (a few milliseconds for thousands
        // of hatchlings); the bus waits meanwhile, nothing is copied.
        let cache = RenderCache()
        let server = try MetricsHTTPServer(listen: listen) {
            cache.bytes {
                store.read { view, connection in
                    MetricsRenderer.render(view.summaries(now: .now()), brokerConnected: connection == .connected)
                }
            }
        }
        server.start()
        defer { server.stop() }
        let shown = ListenAddress(host: listen.host.isEmpty ? "0.0.0.0" : listen.host, port: server.port)
        log.info("fleetctl exporter: serving http://\(shown)/metrics for \(settings.endpoint)")
        var last: LiveConnection? = nil
        await LiveFleet.run(settings: settings, stop: stop, store: store) { connection, _ in
            if connection != last {
                switch connection {
                case .connected: log.info("fleetctl exporter: connected to \(settings.endpoint)")
                case .disconnected(let reason): log.warning("fleetctl exporter: not connected: \(reason)")
                }
                last = connection
            }
        }
        log.info("fleetctl exporter: stopped")
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
        let store = FleetStore(root: root)
        await LiveFleet.run(
            settings: settings, stop: stop, store: store, tick: 0.25, follow: [FleetEvent.filter(root: root)],
            other: { events.apply($0, root: root) },
            update: { connection, changed in
                let started = Monotonic.seconds()
                let frame = store.read { view, _ in
                    screen.frame(view: view, events: events, connection: connection, changed: changed, now: .now(), at: started, source: source)
                }
                if let frame {
                    // The cost of making it, not of writing it: a terminal that stalls (Ctrl-S, a slow
                    // link) must not space the frames out.
                    screen.noteCost(Monotonic.seconds() - started)
                    output(frame)
                }
            })
    }
}

/// The last exposition, shared by the scrapes that come within `maximumAge` seconds of it: a dozen
/// scrapers at once (or one that never reads its answer, over and over) cost one rendering and
/// one buffer, not one each (13.6 MB at 10,000 hatchlings). Scrapes wait for a rendering under way.
final class RenderCache: Sendable {
    static let maximumAge = 1.0
    private let last = Mutex<(bytes: [UInt8], at: Double)?>(nil)

    func bytes(_ render: () -> [UInt8]) -> [UInt8] {
        last.withLock { last in
            let now = Monotonic.seconds()
            if let last, now - last.at < Self.maximumAge { return last.bytes }
            let bytes = render()
            last = (bytes, now)
            return bytes
        }
    }
}
