// Each payload's JSON, keys in snake_case and in sorted order, as `JSONEncoder` with `FleetJSON`'s
// settings writes its `Encodable` form. `FleetJSONWriterTests` holds every writer against that
// encoder; a key added to a payload must be added here too, in its sorted place.

extension HatchlingName: JSONWritable {
    public func write(to writer: inout JSONWriter) { writer.string(rawValue) }
}

extension FleetErrorBody: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("code")
        writer.string(code.rawValue)
        writer.key("message")
        writer.string(message)
        writer.endObject()
    }
}

extension CommandResponse: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("command")
        writer.string(command)
        writer.key("duration_ms")
        writer.number(durationMs)
        if case .failure(let body) = outcome {
            writer.key("error")
            writer.value(body)
        }
        writer.key("hatchling")
        writer.value(hatchling)
        if let id {
            writer.key("id")
            writer.string(id)
        }
        writer.key("ok")
        writer.bool(ok)
        switch outcome {
        case .health(let report):
            writer.key("result")
            writer.value(report)
        case .version(let report):
            writer.key("result")
            writer.value(report)
        case .reload(let report):
            writer.key("result")
            writer.value(report)
        case .status(let report):
            writer.key("result")
            writer.value(report)
        case .failure:
            break
        }
        writer.key("ts")
        writer.value(ts)
        writer.key("v")
        writer.number(v)
        writer.endObject()
    }
}

extension HealthReport: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("checks")
        writer.beginObject()
        writer.key("bus")
        writer.beginObject()
        writer.key("ok")
        writer.bool(checks.bus.ok)
        writer.key("protocol")
        writer.string(checks.bus.protocol)
        writer.endObject()
        writer.key("disk")
        writer.beginObject()
        writer.key("free_bytes")
        writer.number(checks.disk.freeBytes)
        writer.key("free_pct")
        writer.number(checks.disk.freePct)
        writer.key("ok")
        writer.bool(checks.disk.ok)
        writer.key("path")
        writer.string(checks.disk.path)
        writer.endObject()
        writer.key("gateway")
        writer.value(checks.gateway)
        writer.key("memory")
        writer.beginObject()
        writer.key("limit_bytes")
        writer.number(checks.memory.limitBytes)
        writer.key("ok")
        writer.bool(checks.memory.ok)
        writer.key("scope")
        writer.string(checks.memory.scope)
        writer.key("used_bytes")
        writer.number(checks.memory.usedBytes)
        writer.key("used_pct")
        writer.number(checks.memory.usedPct)
        writer.endObject()
        writer.endObject()
        writer.key("status")
        writer.string(status.rawValue)
        writer.endObject()
    }
}

extension VersionReport: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("agent")
        writer.string(agent)
        writer.key("image")
        writer.string(image)
        writer.key("openclaw")
        writer.string(openclaw)
        writer.key("protocol")
        writer.number(`protocol`)
        writer.endObject()
    }
}

extension ReloadReport: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("changed")
        writer.strings(changed)
        writer.key("config_sha256")
        writer.string(configSha256)
        writer.key("restart_required")
        writer.strings(restartRequired)
        writer.endObject()
    }
}

extension AgentCounters: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("commands")
        writer.beginObject()
        for (outcome, count) in commands.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            writer.dynamicKey(outcome)
            writer.number(count)
        }
        writer.endObject()
        writer.key("connects")
        writer.number(connects)
        writer.key("dropped")
        writer.number(dropped)
        writer.key("duplicates")
        writer.number(duplicates)
        writer.key("expired")
        writer.number(expired)
        writer.key("last_error")
        writer.string(lastError)
        writer.key("last_session_present")
        writer.bool(lastSessionPresent)
        writer.key("reload_failures")
        writer.number(reloadFailures)
        writer.key("reloads")
        writer.number(reloads)
        writer.key("sessions_resumed")
        writer.number(sessionsResumed)
        writer.endObject()
    }
}

extension StatusReport: JSONWritable {
    /// Flat, as its `Encodable` form: the heartbeat's keys with `counters` in its sorted place.
    public func write(to writer: inout JSONWriter) {
        heartbeat.write(to: &writer, counters: counters)
    }
}

extension Heartbeat: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        write(to: &writer, counters: nil)
    }

    func write(to writer: inout JSONWriter, counters: AgentCounters?) {
        writer.beginObject()
        writer.key("agent")
        writer.beginObject()
        writer.key("open_fds")
        writer.number(agent.openFds)
        writer.key("rss_bytes")
        writer.number(agent.rssBytes)
        writer.key("threads")
        writer.number(agent.threads)
        writer.key("uptime_s")
        writer.number(agent.uptimeS)
        writer.key("version")
        writer.string(agent.version)
        writer.endObject()
        writer.key("boot_id")
        writer.string(bootId)
        writer.key("container")
        writer.beginObject()
        writer.key("cpu_limit_cores")
        writer.number(container.cpuLimitCores)
        writer.key("cpu_pct")
        writer.number(container.cpuPct)
        writer.key("mem_current_bytes")
        writer.number(container.memCurrentBytes)
        writer.key("mem_limit_bytes")
        writer.number(container.memLimitBytes)
        writer.key("mem_working_set_bytes")
        writer.number(container.memWorkingSetBytes)
        writer.key("net_rx_bytes")
        writer.number(container.netRxBytes)
        writer.key("net_tx_bytes")
        writer.number(container.netTxBytes)
        writer.key("oom_kills")
        writer.number(container.oomKills)
        writer.key("uptime_s")
        writer.number(container.uptimeS)
        writer.endObject()
        if let counters {
            writer.key("counters")
            writer.value(counters)
        }
        writer.key("disk")
        writer.beginObject()
        writer.key("free_bytes")
        writer.number(disk.freeBytes)
        writer.key("path")
        writer.string(disk.path)
        writer.key("total_bytes")
        writer.number(disk.totalBytes)
        writer.endObject()
        writer.key("gateway")
        writer.value(gateway)
        writer.key("hatchling")
        writer.value(hatchling)
        writer.key("health")
        writer.string(health.rawValue)
        writer.key("host")
        writer.beginObject()
        writer.key("cpu_pct")
        writer.number(host.cpuPct)
        writer.key("load")
        if let load = host.load {
            writer.beginArray()
            for figure in load { writer.number(figure) }
            writer.endArray()
        } else {
            writer.null()
        }
        writer.key("mem_available_bytes")
        writer.number(host.memAvailableBytes)
        writer.key("mem_total_bytes")
        writer.number(host.memTotalBytes)
        writer.key("uptime_s")
        writer.number(host.uptimeS)
        writer.endObject()
        writer.key("interval_s")
        writer.number(intervalS)
        writer.key("seq")
        writer.number(seq)
        writer.key("ts")
        writer.value(ts)
        writer.key("v")
        writer.number(v)
        writer.endObject()
    }
}

extension Heartbeat.GatewaySection: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        if let ageS {
            writer.key("age_s")
            writer.number(ageS)
        }
        if let error {
            writer.key("error")
            writer.string(error)
        }
        writer.key("http_status")
        writer.number(httpStatus)
        writer.key("latency_ms")
        writer.number(latencyMs)
        writer.key("ok")
        writer.bool(ok)
        writer.endObject()
    }
}

extension StatusPayload: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        if let agentVersion {
            writer.key("agent_version")
            writer.string(agentVersion)
        }
        writer.key("boot_id")
        writer.string(bootId)
        if let commands {
            writer.key("commands")
            writer.strings(commands.map(\.rawValue))
        }
        if let heartbeatIntervalS {
            writer.key("heartbeat_interval_s")
            writer.number(heartbeatIntervalS)
        }
        if let `protocol` {
            writer.key("protocol")
            writer.number(`protocol`)
        }
        if let reason {
            writer.key("reason")
            writer.string(reason.rawValue)
        }
        writer.key("state")
        writer.string(state.rawValue)
        if let ts {
            writer.key("ts")
            writer.value(ts)
        }
        writer.key("v")
        writer.number(v)
        writer.endObject()
    }
}

extension JSONWriter {
    mutating func strings(_ values: [String]) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    /// A key that is data (a counter's outcome name, a log line's metadata key), escaped like any string.
    public mutating func dynamicKey(_ key: String) {
        string(key)
        put(UInt8(ascii: ":"))
    }
}
