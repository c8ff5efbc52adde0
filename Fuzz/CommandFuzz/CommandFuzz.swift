// libFuzzer harness over the command path: raw payload bytes → CommandDispatcher (parse, signature
// check, duplicate cache, rate limit, expiry) → encoded response → decoded again. Each input is
// also read by JSONDecoder, which must agree with the agent's own JSON scanner, and its first line
// by the local socket's request parser (`checkLocalRequest`).
//
// Built by scripts/fuzz.sh with `-sanitize=fuzzer,address -D FUZZING` (libFuzzer supplies main).
// In an ordinary build it is a replayer: `command-fuzz FILE_OR_DIR...` runs each input once through
// the same checks, so the seed corpus is exercised by the plain test build too.
import Dispatch
import FleetProtocol
import FleetSigning
import HatchlingAgent
import HatchlingSystem
import Logging
import MosquittoClient
import Synchronization

/// Keeps the last published response.
final class LastPublished: BusPublisher {
    let last = Mutex<OutboundMessage?>(nil)

    func publish(_ message: OutboundMessage) throws -> Int32 {
        last.withLock { $0 = message }
        return 1
    }
}

/// Answers every command with a fixed result of its kind: the fuzzer aims at the path around the handlers.
struct FixedHandlers: CommandHandling {
    static let gateway = Heartbeat.GatewaySection(ok: false, httpStatus: nil, latencyMs: nil, error: "connection refused")
    static let heartbeat = Heartbeat(
        hatchling: try! HatchlingName(validating: "fuzz"), bootId: "b", seq: 1, ts: FleetTimestamp(millisecondsSinceEpoch: 0),
        intervalS: 30, health: .unhealthy, agent: .init(version: "1.0.0", uptimeS: 1, rssBytes: nil),
        host: .init(uptimeS: nil, load: nil, memTotalBytes: nil, memAvailableBytes: nil, cpuPct: nil),
        container: .init(uptimeS: nil, memCurrentBytes: nil, memLimitBytes: nil, cpuPct: nil, cpuLimitCores: nil),
        disk: .init(path: "/data", totalBytes: nil, freeBytes: nil), gateway: gateway)

    func run(_ command: FleetCommand) async -> CommandOutcome {
        switch command {
        case .versionReport: .version(VersionReport(agent: "1.0.0", openclaw: nil, image: nil))
        case .healthCheck:
            .health(
                HealthReport(
                    status: .unhealthy,
                    checks: .init(
                        gateway: Self.gateway, bus: .init(ok: true, protocol: "5"),
                        memory: .init(ok: true, usedBytes: nil, limitBytes: nil, usedPct: nil, scope: "unknown"),
                        disk: .init(ok: true, path: "/data", freeBytes: nil, freePct: nil))))
        case .statusReport: .status(StatusReport(heartbeat: Self.heartbeat, counters: AgentCounters()))
        case .configReload: .failure(FleetErrorBody(code: .reloadFailed, message: "no file"))
        }
    }
}

let name = try! HatchlingName(validating: "fuzz")
let topics = FleetTopics(name: name)
let publisher = LastPublished()
let key = CommandKey("fuzzing-key-0123456789")!
/// Two dispatchers: one open, one that demands signatures.
let dispatchers = [nil, key].map { key in
    CommandDispatcher(
        topics: topics, publisher: publisher, handlers: FixedHandlers(), counters: CounterStore(), rateLimit: 0, rateBurst: 1,
        commandKey: key, logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
}

/// The first line of an input as a request on the agent's local socket (`hatchling-agent publish`):
/// the parser never traps; what it accepts survives encoding; an event that passes the agent's
/// checks makes a payload that the hub's reader accepts, with the same name and data; answers
/// round-trip.
func checkLocalRequest(_ bytes: [UInt8]) {
    let line = bytes.prefix { $0 != 0x0A }
    switch LocalProtocol.parse(line) {
    case .failure(let failure):
        precondition(failure.message.utf8.count < 512, "a refusal grew with its input")
        let answer = LocalProtocol.Answer.failed(failure)
        precondition(LocalProtocol.parseAnswer(LocalProtocol.encode(answer).dropLast()) == answer, "a refusal does not round-trip")
    case .success(let request):
        precondition(LocalProtocol.parse(LocalProtocol.encode(request).dropLast()) == .success(request), "a request does not round-trip")
        guard case .publish(let event, let data) = request else { return }
        precondition(data.first == UInt8(ascii: "{"), "publish accepted data that is not an object")
        guard EventPayload.checkName(event) == nil,
            case .success(let prepared) = EventPayload.prepareData(data[...], name: event, secrets: [Array("fuzz-password".utf8)])
        else { return }
        precondition(!String(decoding: prepared, as: UTF8.self).lowercased().contains("fuzz-password"), "the agent's own password passed")
        precondition(!prepared.contains(0x0A) && !prepared.contains(0x0D), "published data holds a line break")
        var writer = JSONWriter()
        EventPayload(event: event, data: prepared, ts: FleetTimestamp(millisecondsSinceEpoch: 0), bootId: String(repeating: "a", count: 32), seq: 1)
            .write(to: &writer)
        let payload = writer.bytes
        precondition(EventPayload.problems(payload).isEmpty, "the hub refuses an event the agent would publish: \(EventPayload.problems(payload))")
        let read = EventPayload.parse(payload)
        precondition(read?.event == event && read?.data == prepared, "an event does not read back as written")
    }
}

/// Runs one input through both dispatchers and checks what comes out. Traps on a broken invariant.
func check(_ bytes: [UInt8]) {
    checkLocalRequest(bytes)
    // The hand-written JSON scanner must read every payload as JSONDecoder does.
    if let disagreement = CommandParser.scannerDisagreement(bytes) {
        fatalError("the command scanner and JSONDecoder disagree on \(bytes.count) bytes: \(disagreement)")
    }
    for (index, dispatcher) in dispatchers.enumerated() {
        publisher.last.withLock { $0 = nil }
        let done = DispatchSemaphore(value: 0)
        Task {
            await dispatcher.handle(MQTTMessage(topic: topics.command, payload: bytes))
            done.signal()
        }
        done.wait()
        guard let message = publisher.last.withLock({ $0 }) else {
            fatalError("no response for an input of \(bytes.count) bytes")
        }
        precondition(message.topic == topics.response, "a response went to \(message.topic)")
        precondition(!message.retain, "a response was retained")
        let response: CommandResponse
        do {
            response = try FleetJSON.decode(CommandResponse.self, from: message.payload)
        } catch {
            fatalError("the response does not decode: \(error)")
        }
        if let id = response.id { precondition(CommandParser.isValidID(id), "an invalid id was echoed") }
        precondition(message.payload.count < 4096 + 1024, "a response grew with its input")
        if bytes.count > CommandParser.maximumPayloadBytes { precondition(response.error?.code == .tooLarge) }
        if index == 1 { precondition(!response.ok || bytes.contains(UInt8(ascii: "{")), "an unsigned plain command ran") }
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    check(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// SwiftPM links an executable's entry point as `<product>_main`; hand it to libFuzzer's driver.
@_cdecl("command_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzz(data, size) }
}
#else
/// Replays files (or every file in directories) given as arguments.
@main
struct Replayer {
    static func main() {
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            var isDirectory = false
            var info = stat()
            if stat(path, &info) == 0 { isDirectory = (info.st_mode & S_IFMT) == S_IFDIR }
            let files: [String]
            if isDirectory, let directory = opendir(path) {
                var names: [String] = []
                while let entry = readdir(directory) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    if !name.hasPrefix(".") { names.append("\(path)/\(name)") }
                }
                closedir(directory)
                files = names.sorted()
            } else {
                files = [path]
            }
            for file in files {
                guard let handle = fopen(file, "rb") else { fatalError("cannot read \(file)") }
                var bytes: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 8192)
                while true {
                    let read = fread(&buffer, 1, buffer.count, handle)
                    if read <= 0 { break }
                    bytes += buffer[0..<read]
                }
                fclose(handle)
                check(bytes)
                count += 1
            }
        }
        print("replayed \(count) inputs: every one answered on the response topic with a well-formed response")

    }
}
#endif
