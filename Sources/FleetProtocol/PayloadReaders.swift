// Readers for the payloads a hub reads by the ten thousand (heartbeats and statuses), without
// `JSONDecoder`: at 10,000 hatchlings, decoding 20,000 payloads was half of `fleetctl status`.
// Each reads only the exact shapes the contract has and gives up (nil) on anything else (a wrong
// type, a number written as 1.0 where an integer is due or too large for a Double, a key twice or
// not the contract's, any backslash, invalid UTF-8, an invalid name or time):
// the caller then decodes with `JSONDecoder`, which decides as it always did. So they can only be
// faster, never different; `PayloadReaderTests` holds them against `JSONDecoder`.

/// A JSON object's top-level fields, read in one pass by the command scanner.
struct JSONFields {
    private let bytes: ArraySlice<UInt8>
    private let fields: [(key: String, range: Range<Int>)]

    /// What a key holds.
    enum Got<T> {
        case absent
        case null
        case value(T)
        case wrong
    }

    init?(_ bytes: ArraySlice<UInt8>) {
        guard let fields = JSONScan.fields(bytes) else { return nil }
        self.bytes = bytes
        self.fields = fields
    }

    private func raw(_ key: String) -> ArraySlice<UInt8>? {
        for field in fields where field.key == key { return bytes[field.range] }
        return nil
    }

    private func get<T>(_ key: String, _ read: (ArraySlice<UInt8>) -> T?) -> Got<T> {
        guard let raw = raw(key) else { return .absent }
        if raw.elementsEqual("null".utf8) { return .null }
        return read(raw).map { .value($0) } ?? .wrong
    }

    func string(_ key: String) -> Got<String> { get(key) { JSONScan.string($0) } }

    func bool(_ key: String) -> Got<Bool> {
        get(key) { $0.elementsEqual("true".utf8) ? true : $0.elementsEqual("false".utf8) ? false : nil }
    }

    func double(_ key: String) -> Got<Double> { get(key, Self.double) }

    func uint64(_ key: String) -> Got<UInt64> {
        get(key) { raw in raw.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } ? UInt64(String(decoding: raw, as: UTF8.self)) : nil }
    }

    func int(_ key: String) -> Got<Int> {
        get(key) { raw in
            raw.dropFirst(raw.first == UInt8(ascii: "-") ? 1 : 0).allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
                ? Int(String(decoding: raw, as: UTF8.self)) : nil
        }
    }

    func object(_ key: String) -> Got<JSONFields> { get(key) { $0.first == UInt8(ascii: "{") ? JSONFields($0) : nil } }

    /// An array of numbers (the load averages).
    func doubles(_ key: String) -> Got<[Double]> {
        get(key) { raw in
            guard raw.first == UInt8(ascii: "["), raw.last == UInt8(ascii: "]") else { return nil }
            let inner = raw.dropFirst().dropLast()
            if inner.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) { return [] }
            var values: [Double] = []
            for part in inner.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                guard
                    let value = Self.double(
                        part.drop { [0x20, 0x09, 0x0A, 0x0D].contains($0) }.reversed().drop { [0x20, 0x09, 0x0A, 0x0D].contains($0) }.reversed()[...])
                else { return nil }
                values.append(value)
            }
            return values
        }
    }

    /// An array of strings (a status's commands).
    func strings(_ key: String) -> Got<[String]> {
        get(key) { raw in
            guard raw.first == UInt8(ascii: "[") else { return nil }
            let space: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
            var values: [String] = []
            var index = raw.startIndex + 1
            func skipSpace() { while index < raw.endIndex, space.contains(raw[index]) { index += 1 } }
            skipSpace()
            if index < raw.endIndex, raw[index] == UInt8(ascii: "]") { return [] }
            while index < raw.endIndex {
                guard raw[index] == UInt8(ascii: "\"") else { return nil }
                var end = index + 1
                while end < raw.endIndex, raw[end] != UInt8(ascii: "\"") { end += raw[end] == UInt8(ascii: "\\") ? 2 : 1 }
                guard end < raw.endIndex, let text = JSONScan.string(raw[index...end]) else { return nil }
                values.append(text)
                index = end + 1
                skipSpace()
                guard index < raw.endIndex else { return nil }
                if raw[index] == UInt8(ascii: "]") { return index == raw.endIndex - 1 ? values : nil }
                guard raw[index] == UInt8(ascii: ",") else { return nil }
                index += 1
                skipSpace()
            }
            return nil
        }
    }

    /// A JSON number (already checked by the scanner) as a Double; nil for anything else, and for
    /// what `JSONDecoder` refuses as not representable (1e400 is infinite, 1e-400 rounds to zero).
    static func double(_ raw: ArraySlice<UInt8>) -> Double? {
        guard let first = raw.first, first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39),
            let value = Double(String(decoding: raw, as: UTF8.self)), value.isFinite
        else { return nil }
        if value == 0 {
            // Zero only when every digit before the exponent is a zero.
            let mantissa = raw.prefix { $0 != UInt8(ascii: "e") && $0 != UInt8(ascii: "E") }
            guard mantissa.allSatisfy({ $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) else { return nil }
        }
        return value
    }

    /// True when every key is one of `keys`: a key the contract does not have (a camelCase spelling
    /// the decoder would read, a duplicate under another spelling) is left to the decoder.
    func has(only keys: Set<String>) -> Bool {
        fields.allSatisfy { keys.contains($0.key) }
    }
}

extension JSONFields.Got {
    /// A required field: its value, nil for anything else.
    var required: T? {
        if case .value(let value) = self { return value }
        return nil
    }

    /// An optional field (absent or null is nil): `.some(value or nil)`, or nil when it is the wrong type.
    var optional: T?? {
        switch self {
        case .absent, .null: return .some(nil)
        case .value(let value): return .some(value)
        case .wrong: return nil
        }
    }
}

extension Heartbeat {
    /// Reads a heartbeat without `JSONDecoder`; nil when it is not exactly the contract's shape
    /// (then decode it with `FleetJSON.decode`, which says why or reads it after all).
    public static func read(_ bytes: [UInt8]) -> Heartbeat? {
        // No escape anywhere (keys the decoder would read differently, text it would check) and
        // valid UTF-8; only the contract's keys, in every section.
        guard !bytes.contains(UInt8(ascii: "\\")), String(validating: bytes, as: UTF8.self) != nil,
            let top = JSONFields(bytes[...]),
            top.has(only: ["v", "hatchling", "boot_id", "seq", "ts", "interval_s", "health", "agent", "host", "container", "disk", "gateway"]),
            let v = top.int("v").required, let name = top.string("hatchling").required,
            let hatchling = try? HatchlingName(validating: name), let bootId = top.string("boot_id").required,
            let seq = top.uint64("seq").required, let tsText = top.string("ts").required, let ts = FleetTimestamp(rfc3339: tsText),
            let intervalS = top.int("interval_s").required, let health = top.string("health").required.flatMap(HealthStatus.init(rawValue:)),
            let a = top.object("agent").required, let h = top.object("host").required, let c = top.object("container").required,
            let d = top.object("disk").required, let g = top.object("gateway").required
        else { return nil }
        guard a.has(only: ["version", "uptime_s", "rss_bytes", "threads", "open_fds"]),
            h.has(only: ["uptime_s", "load", "mem_total_bytes", "mem_available_bytes", "cpu_pct"]),
            c.has(only: [
                "uptime_s", "mem_current_bytes", "mem_limit_bytes", "mem_working_set_bytes", "cpu_pct", "cpu_limit_cores", "oom_kills",
                "net_rx_bytes", "net_tx_bytes",
            ]),
            d.has(only: ["path", "total_bytes", "free_bytes"]), g.has(only: ["ok", "http_status", "latency_ms", "error", "age_s"])
        else { return nil }
        guard let version = a.string("version").required, let agentUptime = a.double("uptime_s").optional,
            let rss = a.uint64("rss_bytes").optional, let threads = a.uint64("threads").optional, let fds = a.uint64("open_fds").optional,
            let hostUptime = h.double("uptime_s").optional, let load = h.doubles("load").optional,
            let memTotal = h.uint64("mem_total_bytes").optional, let memAvailable = h.uint64("mem_available_bytes").optional,
            let hostCPU = h.double("cpu_pct").optional, let containerUptime = c.double("uptime_s").optional,
            let memCurrent = c.uint64("mem_current_bytes").optional, let memLimit = c.uint64("mem_limit_bytes").optional,
            // Absent from the heartbeats of agents older than the field: null, as the decoder reads it.
            let workingSet = c.uint64("mem_working_set_bytes").optional,
            let containerCPU = c.double("cpu_pct").optional, let cores = c.double("cpu_limit_cores").optional,
            let oom = c.uint64("oom_kills").optional, let rx = c.uint64("net_rx_bytes").optional, let tx = c.uint64("net_tx_bytes").optional,
            let path = d.string("path").required, let total = d.uint64("total_bytes").optional, let free = d.uint64("free_bytes").optional,
            let ok = g.bool("ok").required, let status = g.int("http_status").optional, let latency = g.int("latency_ms").optional,
            let error = g.string("error").optional, let age = g.double("age_s").optional
        else { return nil }
        var beat = Heartbeat(
            hatchling: hatchling, bootId: bootId, seq: seq, ts: ts, intervalS: intervalS, health: health,
            agent: AgentSection(version: version, uptimeS: agentUptime, rssBytes: rss, threads: threads, openFds: fds),
            host: HostSection(uptimeS: hostUptime, load: load, memTotalBytes: memTotal, memAvailableBytes: memAvailable, cpuPct: hostCPU),
            container: ContainerSection(
                uptimeS: containerUptime, memCurrentBytes: memCurrent, memLimitBytes: memLimit, cpuPct: containerCPU, cpuLimitCores: cores,
                oomKills: oom, netRxBytes: rx, netTxBytes: tx, memWorkingSetBytes: workingSet),
            disk: DiskSection(path: path, totalBytes: total, freeBytes: free),
            gateway: GatewaySection(ok: ok, httpStatus: status, latencyMs: latency, error: error, ageS: age))
        beat.v = v
        return beat
    }
}

extension StatusPayload {
    /// Reads a status without `JSONDecoder`; nil when it is not exactly the contract's shape.
    public static func read(_ bytes: [UInt8]) -> StatusPayload? {
        guard !bytes.contains(UInt8(ascii: "\\")), String(validating: bytes, as: UTF8.self) != nil,
            let top = JSONFields(bytes[...]),
            top.has(only: ["v", "state", "reason", "ts", "boot_id", "agent_version", "protocol", "commands", "heartbeat_interval_s"]),
            let v = top.int("v").required,
            let state = top.string("state").required.flatMap(State.init(rawValue:)), let bootId = top.string("boot_id").required,
            let reasonText = top.string("reason").optional, let tsText = top.string("ts").optional,
            let agentVersion = top.string("agent_version").optional, let protocolNumber = top.int("protocol").optional,
            let interval = top.int("heartbeat_interval_s").optional
        else { return nil }
        var reason: OfflineReason? = nil
        if let reasonText {
            guard let known = OfflineReason(rawValue: reasonText) else { return nil }
            reason = known
        }
        var ts: FleetTimestamp? = nil
        if let tsText {
            guard let parsed = FleetTimestamp(rfc3339: tsText) else { return nil }
            ts = parsed
        }
        guard let names = top.strings("commands").optional else { return nil }
        var commands: [FleetCommand]? = nil
        if let names {
            let known = names.compactMap(FleetCommand.init(rawValue:))
            guard known.count == names.count else { return nil }
            commands = known
        }
        var status = StatusPayload(
            state: state, reason: reason, ts: ts, bootId: bootId, agentVersion: agentVersion, protocol: protocolNumber,
            commands: commands, heartbeatIntervalS: interval)
        status.v = v
        return status
    }
}
