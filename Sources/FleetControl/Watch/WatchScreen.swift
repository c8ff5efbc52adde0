import FleetProtocol

/// `fleetctl watch`: the status table and the fleet's last events, redrawn live in the terminal.
///
/// On a terminal each frame clears the screen (ANSI `ESC[H ESC[2J`) and is drawn at most
/// `maxFramesPerSecond` times a second, and once a second so ages move. Where the output is not
/// a terminal, or TERM is `dumb`, frames are appended without escape codes, and only when the
/// fleet changed, so a log of the output stays readable. A frame costs time in proportion to the
/// fleet (every row is drawn), so frames are also spaced at least `costFactor` times the last
/// one's cost apart: drawing takes at most a tenth of a core, whatever the fleet's size (a
/// 50,000-hatchling table is redrawn every few seconds, not four times a second).
public struct WatchScreen: Sendable {
    public var ansi: Bool
    public var maxFramesPerSecond = 4.0
    public var costFactor = 10.0
    /// Frames are never further apart than this, whatever one cost (a stalled terminal included).
    static let longestSpacing = 5.0
    private var lastFrameAt = -Double.infinity
    private var lastFrameCost = 0.0
    private var pending = false

    public init(ansi: Bool) {
        self.ansi = ansi
    }

    /// Whether ANSI redraws suit this output: a terminal whose TERM is set and not `dumb`.
    public static func ansiSupported(environment: [String: String], isTerminal: Bool) -> Bool {
        guard isTerminal, let term = environment["TERM"], !term.isEmpty else { return false }
        return term != "dumb"
    }

    /// Notes how long the last frame took to make (seconds), for the spacing of the next.
    public mutating func noteCost(_ seconds: Double) {
        lastFrameCost = max(0, seconds)
    }

    /// The frame to write now, or nil when nothing should be drawn yet.
    public mutating func frame(
        view: FleetView, events: RecentEvents, connection: LiveConnection, changed: Bool, now: FleetTimestamp,
        at time: Double, source: String
    ) -> String? {
        pending = pending || changed
        let spacing = min(Self.longestSpacing, max(1 / maxFramesPerSecond, lastFrameCost * costFactor))
        guard time - lastFrameAt >= spacing else { return nil }
        guard pending || (ansi && time - lastFrameAt >= max(1, spacing)) else { return nil }
        pending = false
        lastFrameAt = time
        let report = FleetStatusReport(view: view, now: now)
        var text = report.table() + events.text()
        switch connection {
        case .connected: text += "watching \(source); Ctrl-C to stop\n"
        case .disconnected(let reason): text += "NOT CONNECTED to \(source): \(reason)\n"
        }
        return ansi ? "\u{1B}[H\u{1B}[2J" + text : text + "\n"
    }
}
