import ArgumentParser
import FleetControl
import FleetProtocol

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every hatchling's state and figures from the retained status and heartbeat topics.",
        discussion: """
            States: online (fresh heartbeat), offline (lost: the broker's Last Will; shutdown: a clean stop), \
            stale (a heartbeat older than 2.5 times its own interval, or none for this run). Figures are shown \
            for online hatchlings only. Ages compare the heartbeat's ts with this machine's clock.

            With NAMEs, only those hatchlings, read from their own topics. A broker that keeps retained \
            messages for exact topics only (RabbitMQ 3.10) sends none to the wildcards of the whole-fleet \
            view: name the hatchlings there.
              fleetctl status
              fleetctl status mason rook --json
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Only these hatchlings (their exact topics).")
    var names: [String] = []

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        try await reportingErrors { () async throws(FleetctlError) -> Int32 in
            var hatchlings: [HatchlingName] = []
            for text in names {
                do {
                    hatchlings.append(try HatchlingName(validating: text))
                } catch {
                    throw .setting(name: "hatchling name '\(text)'", problem: "\(error)")
                }
            }
            let view = try await FleetStatusRunner.snapshot(settings: try connection.settings(), names: hatchlings)
            let report = FleetStatusReport(view: view, now: .now())
            do {
                Terminal.out(json ? try report.json() : report.table())
            } catch {
                throw .io("cannot encode the report: \(error)")
            }
            return 0
        }
    }
}

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The status view and the last events, redrawn live until Ctrl-C.",
        discussion: """
            Redraws on every status, heartbeat or event (at most 4 times a second) and once a second so ages \
            move. Under the table, the fleet's last 5 events (as fleetctl events prints them, cut to one \
            screen line). Without a terminal, or with TERM=dumb, frames are appended without escape codes \
            when the fleet changes. Reconnects by itself when the broker goes away.
            """)

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await reportingErrors { () async throws(FleetctlError) -> Int32 in
            let settings = try connection.settings()
            let stop = StopSignal.watching()
            let ansi = WatchScreen.ansiSupported(environment: ProcessEnvironment.current(), isTerminal: Terminal.outputIsTerminal)
            await WatchRunner.run(settings: settings, stop: stop, ansi: ansi)
            return 0
        }
    }
}

struct Exporter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the fleet as Prometheus metrics on GET /metrics until SIGINT or SIGTERM.",
        discussion: """
            Every series of a hatchling is labelled hatchling="NAME". For every known hatchling: \
            hatchling_up (1 online, else 0), hatchling_state{state="online|stale|lost|shutdown"} (1 for its \
            state), hatchling_last_heartbeat_timestamp_seconds, hatchling_info{agent_version,boot_id}. While it is \
            online: hatchling_memory_current_bytes, hatchling_memory_limit_bytes, \
            hatchling_memory_working_set_bytes (usage less inactive file pages), hatchling_cpu_usage_ratio, \
            hatchling_cpu_limit_cores, hatchling_host_cpu_busy_ratio, hatchling_load1, \
            hatchling_data_filesystem_avail_bytes, hatchling_data_filesystem_size_bytes, hatchling_oom_kills_total, \
            hatchling_network_receive_bytes_total, hatchling_network_transmit_bytes_total, \
            hatchling_container_start_time_seconds, hatchling_agent_start_time_seconds, hatchling_gateway_up, \
            hatchling_gateway_latency_seconds (no frozen figures for a hatchling that is not online). And \
            fleetctl_broker_connected, fleetctl_build_info{version}. Alert rules and a dashboard: template/prometheus, \
            template/grafana, docs/monitoring.md.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Address to serve on, HOST:PORT (127.0.0.1:9464; :9464 for every address; port 0 picks one).")
    var listen = "127.0.0.1:9464"

    func validate() throws {
        do {
            _ = try ListenAddress(parsing: listen)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        try await reportingErrors { () async throws(FleetctlError) -> Int32 in
            let settings = try connection.settings()
            let address = try ListenAddress(parsing: listen)
            try await ExporterRunner.run(settings: settings, listen: address, stop: StopSignal.watching())
            return 0
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record the bus traffic as JSON lines, flagging what breaks the contract; a summary at the end.",
        discussion: """
            Subscribes to # (the broker's ACL decides what the hub may read) and writes one line per message: \
            time, topic, kind, size, qos, retain, sha256 of the payload (never the payload), verdict and findings. \
            Findings: off-contract-topic, not-json, schema, unknown-field, secret, impersonation, retained \
            (a command, response, broadcast or event the broker keeps), bad-command. Events are checked \
            against their contract (docs/protocol.md). Ends after --duration, or on Ctrl-C/SIGTERM, with a summary.

            Exit status: 0 nothing flagged, 1 something flagged, 2 a usage error, 3 the broker could not be used.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "File to append the JSON lines to ('-' for standard output; the summary then goes to standard error).")
    var output: String

    @Option(help: "Seconds to record (default: until Ctrl-C).")
    var duration: Double?

    func validate() throws {
        if let duration, !(duration > 0) { throw ValidationError("--duration must be more than 0 seconds") }
        if output.isEmpty { throw ValidationError("--output needs a file name, or - for standard output") }
    }

    func run() async throws {
        try await reportingErrors { () async throws(FleetctlError) -> Int32 in
            let settings = try connection.settings()
            let summary = try await AuditRunner.run(settings: settings, output: output, duration: duration, stop: StopSignal.watching())
            return summary.exitStatus
        }
    }
}
