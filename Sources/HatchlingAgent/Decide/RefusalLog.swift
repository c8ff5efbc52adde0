/// Keeps a flood of refused commands from flooding the log. In each window of `window` seconds,
/// the first `perWindow` refusals are logged one by one; the others are only counted, by error
/// code, and summed up in one line when the window is over. The agent's counters (status-report)
/// count every refusal regardless.
struct RefusalLog: Sendable {
    static let window = 10.0
    static let perWindow = 20

    private var windowStart = -Double.infinity
    private var loggedInWindow = 0
    private(set) var suppressed: [String: Int] = [:]
    private var flushPending = false

    /// What to do with one refusal.
    struct Decision: Equatable {
        /// Log this refusal on its own line.
        var logIt: Bool
        /// Counts of refusals held back in the window that just ended: log them as one line first.
        var summary: [String: Int]?
    }

    mutating func record(code: String, now: Double) -> Decision {
        var decision = Decision(logIt: false, summary: nil)
        if now - windowStart >= Self.window {
            if !suppressed.isEmpty { decision.summary = suppressed }
            suppressed = [:]
            windowStart = now
            loggedInWindow = 0
        }
        if loggedInWindow < Self.perWindow {
            loggedInWindow += 1
            decision.logIt = true
        } else {
            suppressed[code, default: 0] += 1
            flushPending = true
        }
        return decision
    }

    /// The counts held back in a window that has ended (nil when none, or when the window is still
    /// open); called on a timer, so that a flood's summary is written even if no refusal follows.
    mutating func flushIfDue(now: Double) -> [String: Int]? {
        guard flushPending, now - windowStart >= Self.window else { return nil }
        return flush()
    }

    /// The counts held back so far (nil when none), which the caller logs as one line.
    mutating func flush() -> [String: Int]? {
        flushPending = false
        guard !suppressed.isEmpty else { return nil }
        defer { suppressed = [:] }
        return suppressed
    }

    /// "19990 more commands refused in 10 s (malformed 19980, rate-limited 10); not logged one by one,
    /// all counted in status-report" (the local socket's requests are not counted there).
    static func summaryLine(_ counts: [String: Int], of what: String = "commands", countedIn: String? = "status-report") -> String {
        let total = counts.values.reduce(0, +)
        let parts = counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let counted = countedIn.map { ", all counted in \($0)" } ?? ""
        return "\(total) more \(what) refused in \(Int(window)) s (\(parts)); not logged one by one\(counted)"
    }
}
