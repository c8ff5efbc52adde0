import FleetProtocol
import HatchlingSystem

/// Counts for the audit's closing summary.
public struct AuditSummary: Sendable, Equatable {
    /// Messages seen, and their counts by verdict, topic kind and finding code.
    public var messages = 0
    public var byVerdict: [String: Int] = [:]
    public var byKind: [String: Int] = [:]
    public var byFinding: [String: Int] = [:]
    public var seconds = 0.0

    /// An empty summary.
    public init() {}

    /// Counts one record.
    public mutating func add(_ record: AuditRecord) {
        messages += 1
        byVerdict[record.verdict, default: 0] += 1
        byKind[record.kind, default: 0] += 1
        for code in Set(record.findings.map(\.code)) { byFinding[code, default: 0] += 1 }
    }

    /// 0 when nothing was flagged, 1 otherwise.
    public var exitStatus: Int32 { (byVerdict["flagged"] ?? 0) > 0 ? 1 : 0 }

    /// A few lines for people.
    public func text(source: String) -> String {
        func list(_ counts: [String: Int]) -> String {
            counts.isEmpty ? "none" : counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        return """
            audit of \(source): \(messages) messages in \(Figures.decimal(seconds, places: 1)) s
              verdict: \(byVerdict["ok"] ?? 0) ok, \(byVerdict["flagged"] ?? 0) flagged
              by kind: \(list(byKind))
              findings: \(list(byFinding))

            """
    }
}

/// `fleetctl audit`: records every message the hub may read, one JSON line each, until the
/// duration is over or a signal comes.
public enum AuditRunner {
    /// Runs the audit; returns the summary (already printed). `output` is a path, or `-` for
    /// standard output (the summary then goes to standard error).
    public static func run(
        settings: ConnectionSettings, output: String, duration: Double?, stop: StopSignal, log: FleetctlLog = .standardError
    ) async throws(FleetctlError) -> AuditSummary {
        let fd: Int32 = output == "-" ? 1 : open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw .io("cannot open \(output) for writing: \(String(cString: strerror(errno)))") }
        defer { if fd != 1 { close(fd) } }
        let hub = try await HubConnection.connect(settings)
        defer { hub.close() }
        // QoS 2: a message is delivered at the QoS it was published with, so the log shows it.
        try await hub.subscribe(["#"], qos: 2)
        let source = "\(settings.endpoint) (#\(settings.username.map { " as \($0)" } ?? ""))"
        log.info(
            "fleetctl audit: recording \(source) to \(output == "-" ? "standard output" : output)"
                + (duration.map { " for \(Figures.decimal($0, places: 1)) s" } ?? "") + "; Ctrl-C to stop")
        let inspector = AuditInspector(root: settings.topicRoot, broadcast: settings.broadcastTopic)
        var summary = AuditSummary()
        let start = Monotonic.seconds()
        var lost: FleetctlError? = nil
        while !stop.isStopped {
            var wait = 0.25
            if let duration {
                let left = duration - (Monotonic.seconds() - start)
                guard left > 0 else { break }
                wait = min(wait, left)
            }
            guard let message = await hub.next(timeout: wait) else {
                if let ended = hub.ended {
                    lost = ended
                    break
                }
                continue
            }
            let record = inspector.inspect(message, at: .now())
            summary.add(record)
            do {
                Terminal.write(fd: fd, try FleetJSON.encode(record) + [0x0A])
            } catch {
                throw .io("cannot encode an audit record: \(error)")
            }
        }
        summary.seconds = Monotonic.seconds() - start
        let text = summary.text(source: source)
        if output == "-" { Terminal.write(fd: 2, Array(text.utf8)) } else { Terminal.out(text) }
        if let lost { throw lost }
        return summary
    }
}
