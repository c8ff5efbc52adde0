import FleetProtocol
import HatchlingSystem
import MosquittoClient
import Synchronization

/// The connection state of a live view.
public enum LiveConnection: Sendable, Equatable {
    case connected
    /// Not connected; why, and when the next attempt is.
    case disconnected(String)
}

/// The fleet view that `LiveFleet` keeps up to date, shared with readers on other threads (the
/// exporter's scrapes). It is changed in place, under its lock: a reader that kept a copy of the
/// view would make the next message copy all of it (a dictionary of every hatchling), work that
/// grows with the fleet on every message.
public final class FleetStore: Sendable {
    private let state: Mutex<(view: FleetView, connection: LiveConnection?)>

    public init(root: String) {
        state = Mutex((FleetView(root: root), nil))
    }

    /// Runs `body` with the view and the connection's state, under the lock (keep it short: the
    /// bus waits).
    public func read<T>(_ body: (FleetView, LiveConnection?) -> T) -> T {
        state.withLock { body($0.view, $0.connection) }
    }

    /// Applies `messages` in order; returns whether any was about the view. They are read
    /// (decoded) before the lock is taken: a scrape never waits for JSON decoding.
    func apply(_ messages: [MQTTMessage]) -> Bool {
        let root = state.withLock { $0.view.root }
        let readings = messages.compactMap { FleetView.read($0, root: root) }
        guard !readings.isEmpty else { return false }
        state.withLock { state in
            for reading in readings { state.view.apply(reading) }
        }
        return true
    }

    func replace(with view: FleetView) {
        state.withLock { $0.view = view }
    }

    func set(_ connection: LiveConnection) {
        state.withLock { $0.connection = connection }
    }
}

/// Keeps a `FleetStore` up to date from the bus until stopped, reconnecting with backoff (1 s
/// doubling to 30 s) when the broker goes away: the base of `watch` and the exporter.
public enum LiveFleet {
    /// Calls `update` after every batch of messages (`changed` true) and at least every `tick`
    /// seconds (`changed` false, so ages can be redrawn). Returns when `stop` is set.
    ///
    /// `follow` are more filters (QoS 1; `watch`'s events): a message the view does not take goes
    /// to `other`, which says whether it changed what is shown.
    public static func run(
        settings: ConnectionSettings, stop: StopSignal, store: FleetStore, tick: Double = 0.25, follow: [String] = [],
        other: (MQTTMessage) -> Bool = { _ in false }, update: (LiveConnection, _ changed: Bool) -> Void
    ) async {
        var backoff = 1.0
        func report(_ connection: LiveConnection, _ changed: Bool) {
            store.set(connection)
            update(connection, changed)
        }
        // Messages the view does not take go to `other`, one by one, in order.
        func take(_ messages: [MQTTMessage]) -> Bool {
            guard !follow.isEmpty else { return store.apply(messages) }
            var changed = false
            for message in messages {
                if store.apply([message]) || other(message) { changed = true }
            }
            return changed
        }
        while !stop.isStopped {
            var connected: HubConnection? = nil
            do {
                connected = try await HubConnection.connect(settings)
                if !follow.isEmpty { try await connected?.subscribe(follow, qos: 1) }
                try await connected?.subscribeAndSettle(FleetView.filters(root: settings.topicRoot), qos: 0)
            } catch {
                connected?.close()
                report(.disconnected("\(error); next attempt in \(Int(backoff)) s"), true)
                await pause(backoff, stop: stop)
                backoff = min(backoff * 2, 30)
                continue
            }
            guard let hub = connected else { continue }
            backoff = 1
            // A fresh snapshot replaces what we had (a hatchling removed meanwhile is gone), built
            // aside and swapped in at once: a scrape never sees an empty fleet in between.
            var fresh = FleetView(root: settings.topicRoot)
            for message in hub.drain() {
                if let reading = FleetView.read(message, root: settings.topicRoot) {
                    fresh.apply(reading)
                } else {
                    _ = other(message)
                }
            }
            store.replace(with: fresh)
            report(.connected, true)
            while !stop.isStopped {
                guard let message = await hub.next(timeout: tick) else {
                    if let ended = hub.ended {
                        report(.disconnected("\(ended); reconnecting"), true)
                        break
                    }
                    update(.connected, false)
                    continue
                }
                let changed = take([message] + hub.drain())
                update(.connected, changed)
            }
            hub.close()
        }
    }

    /// Sleeps `seconds` in short steps, returning early when stopped.
    static func pause(_ seconds: Double, stop: StopSignal) async {
        let end = Monotonic.seconds() + seconds
        while !stop.isStopped, Monotonic.seconds() < end {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}
