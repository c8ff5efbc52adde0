// Benchmark (not a test): what one command costs in JSON and logging, against baselines measured
// in the same run. Usage: swift run -c release json-bench
import FleetProtocol
import FoundationEssentials
import HatchlingAgent
import HatchlingSystem
import Logging

func micros() -> Double {
    Double(Monotonic.nanoseconds()) / 1e3
}

func measure(_ label: String, _ n: Int = 20_000, _ body: () throws -> Void) rethrows {
    let start = micros()
    for _ in 0..<n { try body() }
    print("\(label): \(Double(Int((micros() - start) / Double(n) * 100)) / 100) µs")
}

let name = try! HatchlingName(validating: "mason")
let request = Array(#"{"command":"version-report","id":"b-123"}"#.utf8)
let response = CommandResponse(
    id: "b-123", hatchling: name, command: "version-report", ts: .now(), durationMs: 0,
    outcome: .version(VersionReport(agent: "1.0.0", openclaw: nil, image: nil)))

/// `FleetJSON.encode` through `JSONEncoder`: in a function that knows only `Encodable`, the
/// overload for `JSONWritable` payloads (the writer) is not the one called.
func encodeWithEncoder<T: Encodable>(_ value: T) throws -> [UInt8] { try FleetJSON.encode(value) }

measure("parse a JSON command") { _ = CommandParser.parse(request) }
try measure("baseline: JSONEncoder (FleetJSON's settings: convertToSnakeCase, sorted keys)") {
    _ = try encodeWithEncoder(response)
}
measure("encode a response (JSONWriter, what the agent sends)") { _ = FleetJSON.encode(response) }
let plain = JSONEncoder()
plain.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
try measure("floor: no key strategy") { _ = try plain.encode(response) }

let logger = Logger(label: "hatchling-agent", factory: { AgentLogHandler(label: $0, level: SharedLogLevel(.info)) })
dup2(open("/dev/null", O_WRONLY), 2)
var i = 0
measure("one per-command log line") {
    i += 1
    logger.info("command handled", metadata: ["command.id": "b-\(i)", "command.name": "version-report", "command.outcome": "ok"])
}
