/// What one command answered: the `result` of its command, or an `error`.
public enum CommandOutcome: Sendable, Equatable {
    // The two large reports are boxed: inline, a status report made every outcome (and every
    // response) 560 bytes, copied at each step of answering even a `version-report`.
    indirect case health(HealthReport)
    case version(VersionReport)
    case reload(ReloadReport)
    indirect case status(StatusReport)
    case failure(FleetErrorBody)
}

/// A response on `fleet/<name>/response`.
public struct CommandResponse: Sendable, Equatable, Codable {
    public var v: Int = FleetProtocolVersion.current
    /// The request's id; absent for plain-text commands.
    public var id: String?
    public var hatchling: HatchlingName
    /// The command word; null when the request had none that could be echoed.
    public var command: String?
    public var ts: FleetTimestamp
    public var durationMs: Int
    public var outcome: CommandOutcome

    public var ok: Bool {
        if case .failure = outcome { return false }
        return true
    }

    /// The error body, when the command failed.
    public var error: FleetErrorBody? {
        if case .failure(let body) = outcome { return body }
        return nil
    }

    public init(id: String?, hatchling: HatchlingName, command: String?, ts: FleetTimestamp, durationMs: Int, outcome: CommandOutcome) {
        self.id = id
        self.hatchling = hatchling
        self.command = command
        self.ts = ts
        self.durationMs = durationMs
        self.outcome = outcome
    }

    enum CodingKeys: String, CodingKey {
        case v, id, hatchling, command, ok, ts, durationMs, result, error
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        v = try c.decode(Int.self, forKey: .v)
        id = try c.decodeIfPresent(String.self, forKey: .id)
        hatchling = try c.decode(HatchlingName.self, forKey: .hatchling)
        command = try c.decodeIfPresent(String.self, forKey: .command)
        ts = try c.decode(FleetTimestamp.self, forKey: .ts)
        durationMs = try c.decode(Int.self, forKey: .durationMs)
        if try c.decode(Bool.self, forKey: .ok) {
            switch command.flatMap(FleetCommand.init(rawValue:)) {
            case .healthCheck: outcome = .health(try c.decode(HealthReport.self, forKey: .result))
            case .versionReport: outcome = .version(try c.decode(VersionReport.self, forKey: .result))
            case .configReload: outcome = .reload(try c.decode(ReloadReport.self, forKey: .result))
            case .statusReport: outcome = .status(try c.decode(StatusReport.self, forKey: .result))
            case nil:
                throw DecodingError.dataCorruptedError(
                    forKey: .command, in: c, debugDescription: "ok response without a known command")
            }
        } else {
            outcome = .failure(try c.decode(FleetErrorBody.self, forKey: .error))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(v, forKey: .v)
        try c.encodeIfPresent(id, forKey: .id)
        try c.encode(hatchling, forKey: .hatchling)
        try c.encode(command, forKey: .command)
        try c.encode(ok, forKey: .ok)
        try c.encode(ts, forKey: .ts)
        try c.encode(durationMs, forKey: .durationMs)
        switch outcome {
        case .health(let report): try c.encode(report, forKey: .result)
        case .version(let report): try c.encode(report, forKey: .result)
        case .reload(let report): try c.encode(report, forKey: .result)
        case .status(let report): try c.encode(report, forKey: .result)
        case .failure(let body): try c.encode(body, forKey: .error)
        }
    }
}
