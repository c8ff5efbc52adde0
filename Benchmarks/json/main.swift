import FleetProtocol

#if canImport(Glibc)
import Glibc
#endif

func micros() -> Double {
    var ts = timespec(); clock_gettime(CLOCK_MONOTONIC, &ts); return Double(ts.tv_sec) * 1e6 + Double(ts.tv_nsec) / 1e3
}
let name = try! HatchlingName(validating: "mason")
let payload = Array(#"{"command":"version-report","id":"b-123"}"#.utf8)
let n = 20000
var t0 = micros()
for _ in 0..<n { _ = CommandParser.parse(payload) }
print("parse:", (micros() - t0) / Double(n), "µs")
let response = CommandResponse(id: "b-123", hatchling: name, command: "version-report", ts: .now(), durationMs: 0, outcome: .version(VersionReport(agent: "1.0.0", openclaw: nil, image: nil)))
t0 = micros()
for _ in 0..<n { _ = try! FleetJSON.encode(response) }
print("encode:", (micros() - t0) / Double(n), "µs")
t0 = micros()
for _ in 0..<n { _ = FleetTimestamp.now().description }
print("timestamp:", (micros() - t0) / Double(n), "µs")
import FoundationEssentials
let cached = JSONEncoder()
cached.keyEncodingStrategy = .convertToSnakeCase
cached.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
t0 = micros()
for _ in 0..<n { _ = try! cached.encode(response) }
print("encode, cached encoder:", (micros() - t0) / Double(n), "µs")
let plain = JSONEncoder()
plain.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
t0 = micros()
for _ in 0..<n { _ = try! plain.encode(response) }
print("encode, cached, no key strategy:", (micros() - t0) / Double(n), "µs")
let unsorted = JSONEncoder()
t0 = micros()
for _ in 0..<n { _ = try! unsorted.encode(response) }
print("encode, cached, no strategy, unsorted:", (micros() - t0) / Double(n), "µs")
import HatchlingAgent
import Logging
let handler = AgentLogHandler(label: "hatchling-agent", level: SharedLogLevel(.info))
let logger = Logger(label: "hatchling-agent", factory: { _ in handler })
let devnull = open("/dev/null", O_WRONLY)
dup2(devnull, 2)
t0 = micros()
for i in 0..<n {
    logger.info("command handled", metadata: ["command.id": "b-\(i)", "command.name": "version-report", "command.outcome": "ok", "command.duration_ms": "0", "mqtt.topic": "fleet/mason/command"])
}
print("log line:", (micros() - t0) / Double(n), "µs")
