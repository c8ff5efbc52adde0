import FleetProtocol
import MosquittoClient

/// The connection state of a live view.
public enum LiveConnection: Sendable, Equatable {
    case connected
    /// Not connected; why, and when the next attempt is.
    case disconnected(String)
}

/// Keeps a `FleetView` up to date from the bus until stopped, reconnecting with backoff (1 s
/// doubling to 30 s) when the broker goes away: the base of `watch` and the exporter.
public enum LiveFleet {
    /// Calls `update` after every batch of messages (`changed` true) and at least every `tick`
    /// seconds (`changed` false, so ages can be redrawn). Returns when `stop` is set.
    ///
    /// `follow` are more filters (QoS 1; `watch`'s events): a message the view does not take goes
    /// to `other`, which says whether it changed what is shown.
    public static func run(
        settings: ConnectionSettings, stop: StopSignal, tick: Double = 0.25, follow: [String] = [],
        other: (MQTTMessage) -> Bool = { _ in false }, update: (FleetView, LiveConnection, _ changed: Bool) -> Void
    ) async {
        var view = FleetView(root: settings.topicRoot)
        var backoff = 1.0
        while !stop.isStopped {
            var connected: HubConnection? = nil
            do {
                connected = try await HubConnection.connect(settings)
                if !follow.isEmpty { try await connected?.subscribe(follow, qos: 1) }
                try await connected?.subscribeAndSettle(FleetView.filters(root: settings.topicRoot), qos: 0)
            } catch {
                connected?.close()
                update(view, .disconnected("\(error); next attempt in \(Int(backoff)) s"), true)
                await pause(backoff, stop: stop)
                backoff = min(backoff * 2, 30)
                continue
            }
            guard let hub = connected else { continue }
            backoff = 1
            // A fresh snapshot replaces what we had: a hatchling removed meanwhile is gone.
            view = FleetView(root: settings.topicRoot)
            for message in hub.drain() { _ = view.apply(message) || other(message) }
            update(view, .connected, true)
            while !stop.isStopped {
                guard let message = await hub.next(timeout: tick) else {
                    if let ended = hub.ended {
                        update(view, .disconnected("\(ended); reconnecting"), true)
                        break
                    }
                    update(view, .connected, false)
                    continue
                }
                var changed = view.apply(message) || other(message)
                for more in hub.drain() { changed = view.apply(more) || other(more) || changed }
                update(view, .connected, changed)
            }
            hub.close()
        }
    }

    /// Sleeps `seconds` in short steps, returning early when stopped.
    static func pause(_ seconds: Double, stop: StopSignal) async {
        let end = Monotonic.now() + seconds
        while !stop.isStopped, Monotonic.now() < end {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}
