import FleetProtocol
import Testing

/// The hand-written payload writers against `JSONEncoder` (the reference): the same bytes for every
/// shape, with awkward text and numbers. Generated from a fixed seed, so a failure repeats.
@Suite("JSONWriter against JSONEncoder")
struct JSONWriterTests {
    /// SplitMix64: small, seedable, the same sequence on every run.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let awkwardTexts: [String] = [
        "", "plain", "a\"quote", "back\\slash", "/slashes/are/not/escaped", "tab\there", "line\nbreak", "cr\rlf",
        "\u{08}\u{0C}", "nul\u{0}byte", "\u{1}\u{1F}\u{7F}", "é ü ß", "日本語", "emoji 🐣", "\u{2028}\u{2029}",
        "mixed \"\\\n\u{1B}[31m é", String(repeating: "x", count: 300),
    ]

    static let awkwardDoubles: [Double] = [
        0, -0.0, 1, -1, 0.5, 0.1 + 0.2, 100, 1e-7, 1.5e-300, 1e15, 1e16, 1e21, 123_456_789.125, -42.75,
        Double.greatestFiniteMagnitude, Double.leastNonzeroMagnitude, Double.leastNormalMagnitude, 2.0 / 3.0,
    ]

    static let awkwardIntegers: [UInt64] = [0, 1, 9, 10, 99, 1_000_000, UInt64(Int64.max), UInt64.max]

    var rng = Seeded(state: 20_261_129)

    mutating func text() -> String { Self.awkwardTexts.randomElement(using: &rng)! }
    mutating func double() -> Double? { Bool.random(using: &rng) ? nil : Self.awkwardDoubles.randomElement(using: &rng)! }
    mutating func integer() -> UInt64? { Bool.random(using: &rng) ? nil : Self.awkwardIntegers.randomElement(using: &rng)! }
    mutating func int() -> Int { [0, 1, -1, 7, Int.max, Int.min, 1_795_928_400].randomElement(using: &rng)! }
    mutating func maybeText() -> String? { Bool.random(using: &rng) ? nil : text() }
    mutating func timestamp() -> FleetTimestamp {
        // From 1970 through 9999, and a few milliseconds either side of a second.
        FleetTimestamp(millisecondsSinceEpoch: Int64.random(in: 0...253_402_300_799_999, using: &rng))
    }

    mutating func gateway() -> Heartbeat.GatewaySection {
        Heartbeat.GatewaySection(
            ok: Bool.random(using: &rng), httpStatus: integer().map { Int($0 % 600) }, latencyMs: integer().map { Int($0 % 100_000) },
            error: maybeText(), ageS: double())
    }

    mutating func heartbeat() -> Heartbeat {
        Heartbeat(
            hatchling: try! HatchlingName(validating: ["mason", "h-1", "A_b9", String(repeating: "z", count: 64)].randomElement(using: &rng)!),
            bootId: text(), seq: integer() ?? 0, ts: timestamp(), intervalS: int(), health: HealthStatus.allCases.randomElement(using: &rng)!,
            agent: .init(version: text(), uptimeS: double(), rssBytes: integer(), threads: integer(), openFds: integer()),
            host: .init(
                uptimeS: double(), load: Bool.random(using: &rng) ? nil : [double() ?? 0, double() ?? 1, 0.25],
                memTotalBytes: integer(), memAvailableBytes: integer(), cpuPct: double()),
            container: .init(
                uptimeS: double(), memCurrentBytes: integer(), memLimitBytes: integer(), cpuPct: double(), cpuLimitCores: double(),
                oomKills: integer(), netRxBytes: integer(), netTxBytes: integer(), memWorkingSetBytes: integer()),
            disk: .init(path: text(), totalBytes: integer(), freeBytes: integer()),
            gateway: gateway())
    }

    mutating func counters() -> AgentCounters {
        var counters = AgentCounters()
        counters.connects = int()
        counters.lastSessionPresent = Bool.random(using: &rng) ? nil : Bool.random(using: &rng)
        counters.sessionsResumed = int()
        // Every outcome name the agent counts, in a random subset.
        for name in ["ok"] + FleetErrorCode.allCases.map(\.rawValue) where Bool.random(using: &rng) {
            counters.commands[name] = int()
        }
        counters.expired = int()
        counters.duplicates = int()
        counters.dropped = int()
        counters.reloads = int()
        counters.reloadFailures = int()
        counters.lastError = maybeText()
        return counters
    }

    mutating func outcome() -> CommandOutcome {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0:
            return .health(
                HealthReport(
                    status: HealthStatus.allCases.randomElement(using: &rng)!,
                    checks: .init(
                        gateway: gateway(), bus: .init(ok: Bool.random(using: &rng), protocol: text()),
                        memory: .init(
                            ok: Bool.random(using: &rng), usedBytes: integer(), limitBytes: integer(), usedPct: double(),
                            scope: text()),
                        disk: .init(ok: Bool.random(using: &rng), path: text(), freeBytes: integer(), freePct: double()))))
        case 1:
            return .version(VersionReport(agent: text(), openclaw: maybeText(), protocol: int(), image: maybeText()))
        case 2:
            return .reload(ReloadReport(changed: [text(), text()], restartRequired: Bool.random(using: &rng) ? [] : [text()], configSha256: text()))
        case 3:
            return .status(StatusReport(heartbeat: heartbeat(), counters: counters()))
        default:
            return .failure(FleetErrorBody(code: FleetErrorCode.allCases.randomElement(using: &rng)!, message: text()))
        }
    }

    func expectSameBytes<T: Encodable & JSONWritable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reference = try FleetJSON.encodeWithFoundation(value)
        let written: [UInt8] = FleetJSON.encode(value)
        #expect(
            written == reference,
            "written:\n\(String(decoding: written, as: UTF8.self))\nJSONEncoder:\n\(String(decoding: reference, as: UTF8.self))",
            sourceLocation: sourceLocation)
    }

    @Test("responses of every outcome, 2,000 generated")
    mutating func responses() throws {
        for _ in 0..<2000 {
            let response = CommandResponse(
                id: maybeText(), hatchling: try HatchlingName(validating: "mason"), command: maybeText(), ts: timestamp(),
                durationMs: int(), outcome: outcome())
            try expectSameBytes(response)
        }
    }

    @Test("heartbeats, 500 generated")
    mutating func heartbeats() throws {
        for _ in 0..<500 { try expectSameBytes(heartbeat()) }
    }

    @Test("status payloads: online, lost, shutdown, and partial ones")
    mutating func statusPayloads() throws {
        try expectSameBytes(StatusPayload.online(bootId: text(), at: timestamp(), agentVersion: text(), heartbeatIntervalS: 30))
        try expectSameBytes(StatusPayload.lost(bootId: text()))
        try expectSameBytes(StatusPayload.shutdown(bootId: text(), at: timestamp()))
        for _ in 0..<200 {
            let payload = StatusPayload(
                state: Bool.random(using: &rng) ? .online : .offline, reason: Bool.random(using: &rng) ? nil : .lost,
                ts: Bool.random(using: &rng) ? nil : timestamp(), bootId: text(), agentVersion: maybeText(),
                protocol: Bool.random(using: &rng) ? nil : int(), commands: Bool.random(using: &rng) ? nil : [.healthCheck, .statusReport],
                heartbeatIntervalS: Bool.random(using: &rng) ? nil : int())
            try expectSameBytes(payload)
        }
    }

    @Test("every text and every number on its own")
    func scalars() throws {
        for text in Self.awkwardTexts {
            try expectSameBytes(FleetErrorBody(code: .malformed, message: text))
        }
        for figure in Self.awkwardDoubles {
            try expectSameBytes(Heartbeat.GatewaySection(ok: true, httpStatus: nil, latencyMs: nil, ageS: figure))
        }
        for figure in Self.awkwardIntegers {
            var counters = AgentCounters()
            counters.connects = Int(truncatingIfNeeded: figure)
            try expectSameBytes(counters)
        }
    }

    @Test("a figure that is not finite is written as null (JSONEncoder would refuse the payload)")
    func nonFinite() throws {
        for figure in [Double.nan, .infinity, -.infinity] {
            let section = Heartbeat.GatewaySection(ok: true, httpStatus: nil, latencyMs: nil, ageS: figure)
            #expect(throws: (any Error).self) { try FleetJSON.encodeWithFoundation(section) }
            #expect(String(decoding: FleetJSON.encode(section), as: UTF8.self) == #"{"age_s":null,"http_status":null,"latency_ms":null,"ok":true}"#)
        }
    }

    @Test("the writer's output is valid JSON that decodes to the same value")
    mutating func roundTrip() throws {
        for _ in 0..<300 {
            let beat = heartbeat()
            #expect(try FleetJSON.decode(Heartbeat.self, from: FleetJSON.encode(beat)) == beat)
        }
    }
}
