import FleetProtocol

extension SendReport {
    /// The table people read: one row per answer, then the hatchlings that did not answer.
    public func table() -> String {
        var rows = answers.map { answer -> [String] in
            let result = answer.problem != nil ? "bad answer" : answer.ok ? "ok" : "error"
            let name = answer.expected ? answer.hatchling : answer.hatchling + " (not expected)"
            return [name, result, "\(answer.latencyMs) ms", Self.detail(answer)]
        }
        rows += missing.map { [$0, "no answer", "-", "nothing within the timeout"] }
        var text = rows.isEmpty ? "" : TextTable.render(["HATCHLING", "RESULT", "TIME", "DETAIL"], rows)
        if let note { text += note + "\n" }
        let okCount = answers.filter(\.ok).count
        text += "\(command)\(signed ? " (signed)" : ""): \(okCount) ok, \(answers.count - okCount) failed, \(missing.count) no answer\n"
        return text
    }

    /// One line about an answer's result or error.
    static func detail(_ answer: SendAnswer) -> String {
        if let problem = answer.problem { return problem }
        guard let response = answer.response else { return "-" }
        switch response.outcome {
        case .failure(let error):
            return "\(error.code.rawValue): \(error.message)"
        case .health(let report):
            var failing: [String] = []
            let checks = report.checks
            if !checks.gateway.ok { failing.append("gateway" + (checks.gateway.error.map { " (\($0))" } ?? "")) }
            if !checks.bus.ok { failing.append("bus") }
            if !checks.memory.ok { failing.append("memory") }
            if !checks.disk.ok { failing.append("disk") }
            return report.status.rawValue + (failing.isEmpty ? "" : ": " + failing.joined(separator: ", ") + " failing")
        case .version(let report):
            return "agent \(report.agent), openclaw \(report.openclaw ?? "unknown"), image \(report.image ?? "unknown")"
        case .reload(let report):
            if report.changed.isEmpty { return "no change (config \(report.configSha256.prefix(12)))" }
            let restart = report.restartRequired.isEmpty ? "" : "; restart required: " + report.restartRequired.joined(separator: ", ")
            return "changed: " + report.changed.joined(separator: ", ") + restart
        case .status(let report):
            let beat = report.heartbeat
            let commands = report.counters.commands.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return "\(beat.health.rawValue), up \(Figures.duration(beat.agent.uptimeS)), connects \(report.counters.connects)"
                + (commands.isEmpty ? "" : ", commands: " + commands)
        }
    }

    /// The report as JSON for scripts (snake_case keys, sorted).
    public func json() throws -> String {
        try FleetJSON.encodePretty(self) + "\n"
    }
}
