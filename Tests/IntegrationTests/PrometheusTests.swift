import FleetProtocol
import Foundation
import HatchlingSystem
import Testing

/// The operator kit's monitoring (docs/monitoring.md): the alert rules with their `promtool` unit
/// tests, the example Prometheus configuration, and the Grafana dashboard, every panel of which is
/// queried on a real Prometheus scraping a real `fleetctl exporter` in front of real agents.
/// `promtool` and `prometheus` come from the Debian package `prometheus` (scripts/install-deps.sh);
/// without them these tests fail, they do not skip.
@Suite("Prometheus rules, configuration and Grafana dashboard", .serialized)
struct PrometheusTests {
    /// Tests/IntegrationTests/PrometheusTests.swift -> the package root.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let rules = root.appendingPathComponent("template/prometheus/alerts.yml")
    static let ruleTests = root.appendingPathComponent("template/prometheus/alerts_test.yml")
    static let config = root.appendingPathComponent("template/prometheus/prometheus.yml")
    static let dashboard = root.appendingPathComponent("template/grafana/hatchling-fleet.json")

    /// The alert names alerts.yml defines, in order.
    static func alertNames() throws -> [String] {
        let text = try String(contentsOf: rules, encoding: .utf8)
        return regexMatches(of: #"(?m)^\s*-\s*alert:\s*(\w+)\s*$"#, in: text).map { $0[1] }
    }

    // MARK: - promtool

    @Test("promtool check rules and test rules pass; every alert has a firing case and a quiet near miss; broken rules fail the tests")
    func ruleUnitTests() async throws {
        let promtool = try requiredTool("promtool")
        let checked = try await runTool(promtool, ["check", "rules", Self.rules.path])
        #expect(checked.status == 0, "promtool check rules: \(checked.output)")
        let names = try Self.alertNames()
        #expect(checked.output.contains("SUCCESS: \(names.count) rules found"), "\(checked.output)")
        #expect(
            names == [
                "HatchlingDown", "HatchlingStale", "HatchlingFlapping", "HatchlingNotRunning", "HatchlingMemoryNearLimit", "HatchlingDiskNearlyFull",
                "HatchlingOOMKills", "FleetExporterOffBroker",
            ])

        // From another folder: rule_files (alerts.yml) is found next to the test file.
        let tested = try await runTool(promtool, ["test", "rules", Self.ruleTests.path], in: try makeTemporaryDirectory(prefix: "promtool"))
        #expect(tested.status == 0 && tested.output.contains("SUCCESS"), "promtool test rules: \(tested.output)")

        // Each alert is tested both ways: at least one evaluation where it fires, one where it must not.
        let testText = try String(contentsOf: Self.ruleTests, encoding: .utf8)
        let evaluations = testText.components(separatedBy: "- eval_time:").dropFirst()
        for name in names {
            let own = evaluations.filter { $0.contains("alertname: \(name)\n") }
            #expect(own.contains { $0.contains("exp_labels:") }, "no evaluation of alerts_test.yml expects \(name) to fire")
            #expect(own.contains { $0.contains("exp_alerts: []") }, "no evaluation of alerts_test.yml expects \(name) to stay quiet")
        }

        // The unit tests bite: each of these mistakes in alerts.yml makes `promtool test rules` fail.
        let gate = "\n          and on (job, instance) fleetctl_broker_connected == 1"
        let runs = #"count by (job, instance, hatchling, boot_id) (present_over_time(hatchling_info{boot_id!=""}[30m]))"#
        let flapping = "          count by (job, instance, hatchling) (\n            \(runs)\n          ) >= 5"
        let mutations: [(String, String, String)] = [
            ("a clean shutdown counted as down", #"hatchling_state{state="lost"} == 1"#, #"hatchling_state{state=~"lost|shutdown"} == 1"#),
            (
                "HatchlingDown without its 2 minutes",
                "for: 2m\n        labels:\n          severity: critical\n        annotations:\n          summary: \"Hatchling",
                "for: 1m\n        labels:\n          severity: critical\n        annotations:\n          summary: \"Hatchling"
            ),
            ("lost counted as stale", #"hatchling_state{state="stale"} == 1"#, #"hatchling_state{state=~"stale|lost"} == 1"#),
            ("a stale blip of 4 minutes fires", "for: 5m", "for: 4m"),
            ("89% of the memory limit fires", "> 0.9", "> 0.85"),
            ("a memory burst of 5 minutes fires", "limit_bytes > 0.9\n        for: 10m", "limit_bytes > 0.9\n        for: 5m"),
            ("6% free disk fires", "< 0.05", "< 0.07"),
            ("a constant OOM counter fires", "increase(hatchling_oom_kills_total[15m]) > 0", "hatchling_oom_kills_total > 0"),
            ("a counter reset fires", "increase(hatchling_oom_kills_total[15m]) > 0", "delta(hatchling_oom_kills_total[15m]) != 0"),
            (
                "a broker blip fires", "fleetctl_broker_connected == 0, \"reason\", \"broker\", \"\", \"\")\n",
                "fleetctl_broker_connected < 2, \"reason\", \"broker\", \"\", \"\")\n"
            ),
            (
                "an unscrapeable exporter is not noticed",
                "\n          or label_replace(up{job=\"fleetctl\"} == 0, \"reason\", \"scrape\", \"\", \"\")", ""
            ),
            (
                "a missing exporter job is not noticed",
                "\n          or label_replace(absent(up{job=\"fleetctl\"}), \"reason\", \"absent\", \"\", \"\")", ""
            ),
            // One outage, one alert: the hatchling state alerts hold only while the exporter is on the broker.
            ("a stopped broker pages every lost hatchling", #"state="lost"} == 1"# + gate, #"state="lost"} == 1"#),
            ("a cut-off hub warns of every stale hatchling", #"state="stale"} == 1"# + gate, #"state="stale"} == 1"#),
            ("an old view's shutdowns count as not running", #"state="shutdown"} == 1"# + gate, #"state="shutdown"} == 1"#),
            (
                "one exporter's connection vouches for another's view", #"state="lost"} == 1"# + "\n          and on (job, instance)",
                #"state="lost"} == 1"# + "\n          and on (job)"
            ),
            // HatchlingFlapping counts runs (boot ids), which a broker or exporter problem does not add.
            (
                "changes of hatchling_up, which miss most down gaps of a fast crash loop, for runs", flapping,
                "          changes(hatchling_up[30m]) >= 6"
            ),
            ("4 runs in 30 minutes flap (3 restarts: a deploy and two retries)", "\n          ) >= 5", "\n          ) >= 4"),
            (
                "a run's label sets counted as runs (agent_version \"\" after an exporter restart)", runs,
                #"present_over_time(hatchling_info{boot_id!=""}[30m])"#
            ),
            ("a hatchling known by no boot id counted as a run", #"hatchling_info{boot_id!=""}"#, "hatchling_info"),
            ("two exporters' views of one hatchling add up", "count by (job, instance, hatchling) (\n", "count by (job, hatchling) (\n"),
            ("runs counted over 45 minutes", #"{boot_id!=""}[30m]"#, #"{boot_id!=""}[45m]"#),
            (
                "a broker blip hides a crash loop for 30 minutes", "\n          ) >= 5",
                "\n          ) >= 5\n          and on (job, instance) min_over_time(fleetctl_broker_connected[30m]) == 1"
            ),
            ("an exporter off the broker resolves a crash loop's alert", "\n          ) >= 5", "\n          ) >= 5" + gate),
            ("a shutdown of 25 minutes is not running", "for: 30m", "for: 20m"),
            ("a lost hatchling counts as not running", #"hatchling_state{state="shutdown"} == 1"#, #"hatchling_state{state=~"shutdown|lost"} == 1"#),
            (
                "the page cache counts as near the limit", "hatchling_memory_working_set_bytes / hatchling_memory_limit_bytes",
                "hatchling_memory_current_bytes / hatchling_memory_limit_bytes"
            ),
        ]
        let original = try String(contentsOf: Self.rules, encoding: .utf8)
        for (what, from, to) in mutations {
            guard original.components(separatedBy: from).count == 2 else {
                Issue.record("mutation '\(what)': alerts.yml does not contain \(from.debugDescription) exactly once; update the mutation")
                continue
            }
            let directory = try makeTemporaryDirectory(prefix: "promtool-mutant")
            try original.replacingOccurrences(of: from, with: to)
                .write(to: directory.appendingPathComponent("alerts.yml"), atomically: true, encoding: .utf8)
            try FileManager.default.copyItem(at: Self.ruleTests, to: directory.appendingPathComponent("alerts_test.yml"))
            let mutant = try await runTool(promtool, ["test", "rules", directory.appendingPathComponent("alerts_test.yml").path])
            #expect(mutant.status != 0, "alerts_test.yml does not catch \(what): \(mutant.output)")
            try? FileManager.default.removeItem(at: directory)
        }
    }

    @Test("promtool check config passes on the example prometheus.yml and finds alerts.yml by its relative path")
    func exampleConfig() async throws {
        let promtool = try requiredTool("promtool")
        let checked = try await runTool(promtool, ["check", "config", Self.config.path], in: try makeTemporaryDirectory(prefix: "promtool"))
        #expect(checked.status == 0, "promtool check config: \(checked.output)")
        #expect(checked.output.contains("SUCCESS: 1 rule files found"), "\(checked.output)")
        let count = try Self.alertNames().count
        #expect(checked.output.contains("alerts.yml") && checked.output.contains("SUCCESS: \(count) rules found"), "\(checked.output)")
        let text = try String(contentsOf: Self.config, encoding: .utf8)
        #expect(text.contains("job_name: fleetctl"), "the rules and the dashboard read up{job=\"fleetctl\"}")
    }

    // MARK: - the dashboard's form

    @Test("the dashboard: schema 39, a Prometheus data source variable every panel uses, the hatchling variable, a query in every panel")
    func dashboardForm() throws {
        let dashboard = try Self.loadDashboard()
        #expect(dashboard["schemaVersion"] as? Int == 39)
        #expect(dashboard["uid"] as? String == "hatchling-fleet")
        let variables = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        let source = variables.first { $0["name"] as? String == "DS_PROMETHEUS" }
        #expect(source?["type"] as? String == "datasource" && source?["query"] as? String == "prometheus", "\(String(describing: source))")
        let hatchling = variables.first { $0["name"] as? String == "hatchling" }
        #expect(hatchling?["definition"] as? String == "label_values(hatchling_info, hatchling)")
        #expect(hatchling?["multi"] as? Bool == true && hatchling?["includeAll"] as? Bool == true && hatchling?["allValue"] as? String == ".*")
        let panels = Self.allPanels(dashboard)
        #expect(Set(panels.compactMap { $0["id"] as? Int }).count == panels.count, "panel ids are unique")
        for panel in panels where panel["type"] as? String != "row" {
            let title = panel["title"] as? String ?? "?"
            #expect((panel["datasource"] as? [String: Any])?["uid"] as? String == "${DS_PROMETHEUS}", "\(title): data source")
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty, "\(title): no query")
            for target in targets {
                #expect((target["datasource"] as? [String: Any])?["uid"] as? String == "${DS_PROMETHEUS}", "\(title): target data source")
                #expect(!(target["expr"] as? String ?? "").isEmpty, "\(title): empty expr")
            }
        }
        let titles = Set(panels.compactMap { $0["title"] as? String })
        for expected in [
            "Fleet state", "Hatchlings not online", "Agent versions", "Exporter", "Heartbeat age", "Memory working set of limit", "Container CPU",
            "Data disk available", "OOM kills", "Network", "Gateway health", "Gateway probe latency",
        ] {
            #expect(titles.contains(expected), "no panel \(expected)")
        }
    }

    // MARK: - the real thing

    /// A container with limits, as Docker would report it: the test machine's own agents run in
    /// no cgroup with a memory or CPU limit, so the panels that divide by a limit are checked on
    /// this hatchling's heartbeats (published by the test, read by the same exporter). Its working
    /// set (95% of the limit; 98% with its page cache) and disk (1% free) put its alerts in pending
    /// on the real Prometheus.
    struct Wren {
        static let bootID = "5b1f0c9d2e8a4f6b7c3d1e0f9a8b7c6d"
        static let limit: UInt64 = 1_073_741_824

        static var status: String {
            #"{"agent_version":"1.0.0","boot_id":"\#(bootID)","commands":["health-check","version-report","config-reload","status-report"],"heartbeat_interval_s":3600,"protocol":1,"state":"online","ts":"\#(FleetTimestamp.now().description)","v":1}"#
        }

        static func heartbeat(seq: Int, oomKills: Int) -> String {
            #"{"agent":{"open_fds":null,"rss_bytes":5242880,"threads":null,"uptime_s":3600,"version":"1.0.0"},"boot_id":"\#(bootID)","container":{"cpu_limit_cores":2,"cpu_pct":50,"mem_current_bytes":\#(limit * 98 / 100),"mem_limit_bytes":\#(limit),"mem_working_set_bytes":\#(limit * 95 / 100),"net_rx_bytes":1000,"net_tx_bytes":2000,"oom_kills":\#(oomKills),"uptime_s":7200},"disk":{"free_bytes":1000000000,"path":"/home/openclaw/.openclaw","total_bytes":100000000000},"gateway":{"http_status":200,"latency_ms":4,"ok":true},"hatchling":"wren","health":"healthy","host":{"cpu_pct":20,"load":[0.12,0.3,0.25],"mem_available_bytes":9663676416,"mem_total_bytes":16707350528,"uptime_s":912345.2},"interval_s":3600,"seq":\#(seq),"ts":"\#(FleetTimestamp.now().description)","v":1}"#
        }
    }

    @Test(
        "a real Prometheus scraping fleetctl exporter in front of real agents: every dashboard query answers, the rules load, and each alert goes pending or firing on the real series"
    )
    func dashboardOnRealPrometheus() async throws {
        let prometheusBinary = try requiredTool("prometheus")
        let dashboard = try Self.loadDashboard()
        try await withBroker { broker in
            let directory = try makeTemporaryDirectory(prefix: "prometheus")
            let prometheusPort = try freePort()
            let exporterPort = try freePort()
            let prometheus = try TestPrometheus(
                binary: prometheusBinary, port: prometheusPort, directory: directory, exporterPort: exporterPort, rules: Self.rules)
            var exporter: ChildProcess?
            var agents: [TestAgent] = []
            var mason: TestAgent?
            func stopAll() async {
                mason?.signal(SIGCONT)
                for agent in agents { await agent.stop() }
                await exporter?.terminate(signal: SIGTERM, grace: 10)
                await prometheus.stop()
            }
            do {
                try await prometheus.waitReady()
                let exporterLog = directory.appendingPathComponent("exporter.log")
                exporter = try Fleetctl.start(
                    ["exporter", "--listen", "127.0.0.1:\(exporterPort)"], environment: Fleetctl.environment(broker), output: exporterLog)
                // In-process agents (no supervisor), so SIGSTOP and SIGKILL reach the MQTT client itself.
                // mason's gateway is Prometheus's own health endpoint (200); rook's refuses connections.
                func agent(_ name: String, _ gateway: String) throws -> TestAgent {
                    let agent = try TestAgent(
                        name: name, broker: broker,
                        environment: [
                            "HEARTBEAT_INTERVAL": "2", "MQTT_KEEPALIVE": "120", "MQTT_RECONNECT_MAX": "2", "GATEWAY_HEALTH_URL": gateway,
                            "LOG_LEVEL": "info",
                        ])
                    try agent.start(arguments: ["run", "--no-supervisor"])
                    agents.append(agent)
                    return agent
                }
                mason = try agent("mason", "http://127.0.0.1:\(prometheusPort)/-/healthy")
                let rook = try agent("rook", "http://127.0.0.1:9/health")
                let finch = try agent("finch", "http://127.0.0.1:9/health")
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/#"])
                defer { hub.close() }
                for name in ["mason", "rook", "finch"] {
                    _ = try await hub.waitForMessage("\(name) online", timeout: 60) { message in
                        message.topic == "fleet/\(name)/status"
                            && (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.state == .online
                    }
                }
                try hub.publish("fleet/wren/status", Wren.status, retain: true)
                try hub.publish("fleet/wren/heartbeat", Wren.heartbeat(seq: 1, oomKills: 0), retain: true)

                // finch stops cleanly: it is "shutdown", never "down", and fills "Hatchlings not online".
                #expect(await finch.stop() == 0, "finch: \(finch.log())")

                // Data for every panel: finch seen shut down, mason's gateway up, three samples of each
                // agent's second-heartbeat figures (for rate() and increase()), wren's limit.
                let ready = [
                    #"hatchling_state{hatchling="finch",state="shutdown"} == 1"#,
                    #"hatchling_gateway_up{hatchling="mason"} == 1"#,
                    #"count_over_time(hatchling_cpu_usage_ratio{hatchling="mason"}[1m]) >= 3"#,
                    #"count_over_time(hatchling_cpu_usage_ratio{hatchling="rook"}[1m]) >= 3"#,
                    #"count_over_time(hatchling_data_filesystem_avail_bytes{hatchling="rook"}[1m]) >= 3"#,
                    #"count_over_time(hatchling_memory_limit_bytes{hatchling="wren"}[1m]) >= 3"#,
                    #"count_over_time(hatchling_memory_working_set_bytes{hatchling="wren"}[1m]) >= 3"#,
                ]
                try await waitForAsync("Prometheus to hold data for every panel", timeout: 120) {
                    for expr in ready where (try? prometheus.query(expr))?.isEmpty != false { return false }
                    return true
                }

                // The variable: label_values(hatchling_info, hatchling) as Grafana asks for it.
                let variables = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
                let definition = variables.first { $0["name"] as? String == "hatchling" }?["definition"] as? String ?? ""
                let parts = try #require(regexMatches(of: #"^label_values\((\w+),\s*(\w+)\)$"#, in: definition).first, "\(definition)")
                let values = try prometheus.labelValues(parts[2], match: parts[1])
                #expect(Set(values).isSuperset(of: ["mason", "rook", "finch", "wren"]), "\(values)")

                // Every query of every panel, with Grafana's variables filled in, first for the real
                // agents: each answers with data. Some figures depend on the machine, not on us: a
                // container limit (memory, CPU), the cgroup's OOM counter, the container's network
                // interfaces. Where this machine's agents do not have one (the exporter's own scrape
                // has no such series for them), a query that reads it must answer nothing for them,
                // and must answer for wren, which has them all. Every other family must come from
                // the real agents.
                let scrape = try httpGet(port: exporterPort, path: "/metrics").body
                let real = parseExposition(scrape).filter { $0.labels.contains(#"hatchling="mason""#) || $0.labels.contains(#"hatchling="rook""#) }
                let realFamilies = Set(real.map(\.name))
                let environmentDependent: Set = [
                    "hatchling_memory_limit_bytes", "hatchling_cpu_limit_cores", "hatchling_oom_kills_total",
                    "hatchling_network_receive_bytes_total", "hatchling_network_transmit_bytes_total",
                ]
                let targets = Self.targets(dashboard)
                #expect(targets.count >= 20, "\(targets.count) queries")
                func families(_ expr: String) -> Set<String> {
                    Set(regexMatches(of: #"\b(hatchling_[a-z0-9_]+|fleetctl_[a-z0-9_]+)\b"#, in: expr).map { $0[1] })
                }
                let missing = Set(targets.flatMap { families($0.expr) }).filter { $0.hasPrefix("hatchling_") && !realFamilies.contains($0) }
                #expect(
                    missing.isSubset(of: environmentDependent),
                    "families the real agents should have but the exporter did not give: \(missing.subtracting(environmentDependent))")
                if !missing.isEmpty { print("PrometheusTests: this machine's agents have no \(missing.sorted()); those queries are checked on wren") }
                var results: [String: [[String: Any]]] = [:]
                for target in targets {
                    let expr = try Self.substitute(target.expr, hatchling: "mason|rook|finch")
                    let result: [[String: Any]]
                    do {
                        result = try prometheus.query(expr)
                    } catch {
                        Issue.record("\(target.panel) \(target.refID): \(expr): \(error)")
                        continue
                    }
                    results["\(target.panel) \(target.refID)"] = result
                    if families(expr).isDisjoint(with: missing) {
                        #expect(!result.isEmpty, "\(target.panel) \(target.refID): \(expr) answers nothing")
                    } else {
                        #expect(
                            result.isEmpty,
                            "\(target.panel) \(target.refID): the exporter has no \(families(expr).intersection(missing)) for the real agents, yet: \(result)"
                        )
                    }
                }
                // Then wren, the container with limits, OOM counter and interfaces: those queries answer too.
                for target in targets where !families(target.expr).isDisjoint(with: environmentDependent) {
                    let expr = try Self.substitute(target.expr, hatchling: "wren")
                    let result = try prometheus.query(expr)
                    #expect(!result.isEmpty, "\(target.panel) \(target.refID) for wren: \(expr) answers nothing")
                    if target.panel == "Memory working set of limit" {
                        // The working set (A), and all in use, page cache included (B).
                        let expected = target.refID == "A" ? 0.95 : 0.98
                        #expect(result.first.flatMap(Self.value).map { abs($0 - expected) < 0.001 } == true, "\(target.refID): \(result)")
                    }
                }
                // A few answers by value.
                let states = Dictionary(
                    (results["Fleet state A"] ?? []).map { (Self.label($0, "state"), Self.value($0) ?? -1) }, uniquingKeysWith: { $1 })
                #expect(Set(states.keys) == ["online", "stale", "lost", "shutdown"] && states["shutdown"] == 1, "\(states)")
                let notOnline = (results["Hatchlings not online A"] ?? []).map { "\(Self.label($0, "hatchling")) \(Self.label($0, "state"))" }
                #expect(notOnline.contains("finch shutdown"), "\(notOnline)")
                #expect((results["Hatchlings not online B"] ?? []).contains { Self.label($0, "hatchling") == "finch" })
                #expect((results["Agent versions A"] ?? []).contains { Self.label($0, "agent_version") == "1.0.0" })
                #expect((results["Exporter B"] ?? []).map(Self.value) == [1], "fleetctl_broker_connected")
                // mason's gateway was seen up above (a later probe may be slow on a loaded machine).
                let gateways = Dictionary(
                    (results["Gateway health A"] ?? []).map { (Self.label($0, "hatchling"), Self.value($0)) }, uniquingKeysWith: { $1 })
                #expect(gateways["mason"] != nil && gateways["rook"] == 0, "\(gateways)")

                // The rules as Prometheus loaded them: every alert, evaluated without error, with
                // a severity and both annotations.
                let names = try Self.alertNames()
                var loaded: [[String: Any]] = []
                try await waitForAsync("every rule evaluated", timeout: 60) {
                    loaded = try prometheus.rules()
                    return loaded.count == names.count && loaded.allSatisfy { $0["health"] as? String == "ok" }
                }
                #expect(loaded.compactMap { $0["name"] as? String } == names)
                for rule in loaded {
                    let labels = rule["labels"] as? [String: String] ?? [:]
                    let annotations = rule["annotations"] as? [String: String] ?? [:]
                    #expect(["critical", "warning"].contains(labels["severity"] ?? ""), "\(rule)")
                    #expect(!(annotations["summary"] ?? "").isEmpty && !(annotations["description"] ?? "").isEmpty, "\(rule)")
                    if (rule["name"] as? String ?? "").hasPrefix("Hatchling") {
                        #expect((annotations["summary"] ?? "").contains("{{ $labels.hatchling }}"), "\(rule)")
                    }
                }

                // Live: wren's memory and disk alerts are pending (for 10m); an OOM kill fires at once.
                try await prometheus.waitForAlert("HatchlingMemoryNearLimit", hatchling: "wren", state: "pending")
                try await prometheus.waitForAlert("HatchlingDiskNearlyFull", hatchling: "wren", state: "pending")
                try hub.publish("fleet/wren/heartbeat", Wren.heartbeat(seq: 2, oomKills: 1), retain: true)
                try await prometheus.waitForAlert("HatchlingOOMKills", hatchling: "wren", state: "firing")

                // finch, shut down: HatchlingNotRunning goes pending (for 30m), and nothing else names it.
                try await prometheus.waitForAlert("HatchlingNotRunning", hatchling: "finch", state: "pending")

                // rook killed (its Last Will: lost) and mason frozen (stale): HatchlingDown and
                // HatchlingStale go pending for them, never for finch, which shut down.
                await rook.kill9()
                mason?.signal(SIGSTOP)
                try await prometheus.waitForAlert("HatchlingDown", hatchling: "rook", state: "pending")
                try await prometheus.waitForAlert("HatchlingStale", hatchling: "mason", state: "pending")
                let alerts = try prometheus.alerts()
                #expect(
                    !alerts.contains { alert in
                        let labels = alert["labels"] as? [String: String] ?? [:]
                        return labels["hatchling"] == "finch" && labels["alertname"] != "HatchlingNotRunning"
                    }, "an alert other than HatchlingNotRunning for a clean shutdown: \(alerts)")
                // A healthy exporter: not off the broker, its job present. (One scrape slower than its
                // 1 s timeout on a loaded machine would make reason="scrape" pending for a second.)
                #expect(
                    !alerts.contains { alert in
                        let labels = alert["labels"] as? [String: String] ?? [:]
                        return labels["alertname"] == "FleetExporterOffBroker" && labels["reason"] != "scrape"
                    }, "\(alerts)")
                let table = try prometheus.query(
                    try Self.substitute(
                        Self.targets(dashboard).first { $0.panel == "Hatchlings not online" && $0.refID == "A" }?.expr ?? "", hatchling: ".*"))
                #expect(
                    Set(table.map { "\(Self.label($0, "hatchling")) \(Self.label($0, "state"))" }) == ["finch shutdown", "rook lost", "mason stale"],
                    "\(table)")
                mason?.signal(SIGCONT)

                // finch in a crash loop, as the entrypoint makes one of a gateway that keeps exiting:
                // each exit stops the agent cleanly (shutdown), each restart is a new run with a new
                // boot id. Its first run and four more are 5 runs in 30 minutes: HatchlingFlapping
                // (no `for`) fires, its value the runs. The test waits for each run's boot id in
                // Prometheus and stops it at once, not for finch seen up or down: the rule counts
                // runs, whether a scrape saw the gaps between them or not.
                func runs(_ name: String) -> Set<String> {
                    let seen = try? prometheus.query(#"present_over_time(hatchling_info{hatchling="\#(name)",boot_id!=""}[30m])"#)
                    return Set((seen ?? []).map { Self.label($0, "boot_id") })
                }
                #expect(runs("finch").count == 1, "\(runs("finch"))")
                for round in 1...4 {
                    try finch.start(arguments: ["run", "--no-supervisor"])
                    try await waitForAsync("finch's run \(round + 1) in Prometheus", timeout: 60) { runs("finch").count == round + 1 }
                    #expect(await finch.stop() == 0, "finch: \(finch.log())")
                }
                try await prometheus.waitForAlert("HatchlingFlapping", hatchling: "finch", state: "firing")
                // Only finch flaps: mason (frozen and thawed), rook (killed) and wren are one run each.
                func flapping() throws -> [String: Double] {
                    let alerts = try prometheus.alerts().filter { ($0["labels"] as? [String: String])?["alertname"] == "HatchlingFlapping" }
                    return Dictionary(
                        alerts.map { (($0["labels"] as? [String: String])?["hatchling"] ?? "", ($0["value"] as? String).flatMap(Double.init) ?? -1) },
                        uniquingKeysWith: { $1 })
                }
                #expect(try flapping() == ["finch": 5])

                // The exporter loses the broker (which sends the Last Will of every agent still
                // connected as it stops: mason lost). One outage, one alert: FleetExporterOffBroker;
                // the exporter keeps its last view, but the hatchling state alerts (rook down, finch
                // not running, mason now lost) are held back. The broker's stop starts no run: mason
                // does not flap, finch's alert stays as it was, at 5 runs.
                await broker.stop()
                try await waitForAsync("mason lost in Prometheus", timeout: 30) {
                    (try? prometheus.query(#"hatchling_state{hatchling="mason",state="lost"} == 1"#))?.isEmpty == false
                }
                try await prometheus.waitForAlert("FleetExporterOffBroker", reason: "broker", state: "pending")
                let held: Set = ["HatchlingDown", "HatchlingStale", "HatchlingNotRunning"]
                var active: [[String: Any]] = []
                do {
                    try await waitForAsync("the hatchling state alerts held back while the exporter is off the broker", timeout: 20) {
                        active = try prometheus.alerts().filter { held.contains(($0["labels"] as? [String: String])?["alertname"] ?? "") }
                        return active.isEmpty
                    }
                } catch {
                    Issue.record("\(error): \(active)")
                }
                #expect(try flapping() == ["finch": 5])

                // The broker back: mason's agent reconnects as the same run, the exporter reads the
                // same retained statuses again. No hatchling has a new boot id, nothing new flaps.
                try await broker.start()
                try await waitForAsync("the exporter on the broker again and mason up", timeout: 90) {
                    (try? prometheus.query(#"fleetctl_broker_connected == 1"#))?.isEmpty == false
                        && (try? prometheus.query(#"hatchling_up{hatchling="mason"} == 1"#))?.isEmpty == false
                }
                for (name, count) in ["mason": 1, "rook": 1, "wren": 1, "finch": 5] {
                    #expect(runs(name).count == count, "\(name): \(runs(name))")
                }
                #expect(try flapping() == ["finch": 5])
                #expect(await exporter?.terminate(signal: SIGTERM, grace: 10) == 0)
                try await prometheus.waitForAlert("FleetExporterOffBroker", reason: "scrape", state: "pending")
            } catch {
                print("prometheus log:\n\(prometheus.log().suffix(4000))")
                print("exporter log:\n\((try? String(contentsOf: directory.appendingPathComponent("exporter.log"), encoding: .utf8)) ?? "")")
                await stopAll()
                throw error
            }
            await stopAll()
        }
    }

    // MARK: - helpers

    static func loadDashboard() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: dashboard))
        return try #require(object as? [String: Any], "the dashboard is not a JSON object")
    }

    /// Every panel, those inside rows too.
    static func allPanels(_ dashboard: [String: Any]) -> [[String: Any]] {
        func walk(_ panels: [[String: Any]]) -> [[String: Any]] {
            panels.flatMap { [$0] + walk($0["panels"] as? [[String: Any]] ?? []) }
        }
        return walk(dashboard["panels"] as? [[String: Any]] ?? [])
    }

    static func targets(_ dashboard: [String: Any]) -> [(panel: String, refID: String, expr: String)] {
        allPanels(dashboard).flatMap { panel in
            (panel["targets"] as? [[String: Any]] ?? []).map {
                (panel["title"] as? String ?? "?", $0["refId"] as? String ?? "?", $0["expr"] as? String ?? "")
            }
        }
    }

    /// Grafana's variables in a query: `$hatchling` (a multi-value variable, a regex in `=~`) and the
    /// built-in intervals, as Grafana would fill them for a 1 s scrape; any other variable is an error.
    static func substitute(_ expr: String, hatchling: String) throws -> String {
        let values = ["hatchling": hatchling, "__rate_interval": "1m", "__interval": "15s", "__range": "5m", "__range_s": "300"]
        var out = ""
        var rest = Substring(expr)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            rest = rest[rest.index(after: dollar)...]
            let braced = rest.first == "{"
            if braced { rest = rest.dropFirst() }
            let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
            rest = rest.dropFirst(name.count)
            if braced {
                if rest.first == ":" { rest = rest.drop { $0 != "}" } }
                guard rest.first == "}" else { throw TestError("unclosed ${ in \(expr)") }
                rest = rest.dropFirst()
            }
            guard let value = values[name] else { throw TestError("unknown variable $\(name) in \(expr)") }
            out += value
        }
        return out + rest
    }

    static func label(_ sample: [String: Any], _ name: String) -> String {
        (sample["metric"] as? [String: String])?[name] ?? ""
    }

    static func value(_ sample: [String: Any]) -> Double? {
        ((sample["value"] as? [Any])?.last as? String).flatMap(Double.init)
    }
}

/// A real Prometheus (`/usr/bin/prometheus`, Debian's package) on a free 127.0.0.1 port, scraping
/// one exporter every second and evaluating `rules` every second, with its storage in a temporary
/// folder; started and stopped by pid.
final class TestPrometheus: Sendable {
    let port: Int
    let directory: URL
    let process: ChildProcess

    init(binary: String, port: Int, directory: URL, exporterPort: Int, rules: URL) throws {
        self.port = port
        self.directory = directory
        let config = directory.appendingPathComponent("prometheus.yml")
        try """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        rule_files:
          - \(rules.path)
        scrape_configs:
          - job_name: fleetctl
            static_configs:
              - targets: ["127.0.0.1:\(exporterPort)"]
        """.write(to: config, atomically: true, encoding: .utf8)
        process = try ChildProcess(
            executable: binary,
            arguments: [
                "--config.file=\(config.path)", "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=info",
            ],
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"],
            outputPath: directory.appendingPathComponent("prometheus.log").path)
    }

    func waitReady() async throws {
        try await waitForPort(port, deadline: 60)
        try await waitForAsync("Prometheus ready", timeout: 60) { (try? self.get("/-/ready"))?.status == 200 }
    }

    func stop() async {
        await process.terminate(signal: SIGTERM, grace: 20)
    }

    func log() -> String {
        (try? String(contentsOf: directory.appendingPathComponent("prometheus.log"), encoding: .utf8)) ?? ""
    }

    /// An instant query's result vector; throws unless Prometheus says success.
    func query(_ expr: String) throws -> [[String: Any]] {
        let data = try api("/api/v1/query?query=\(Self.encode(expr))")
        guard (data as? [String: Any])?["resultType"] as? String == "vector" else { throw TestError("not a vector: \(data)") }
        return (data as? [String: Any])?["result"] as? [[String: Any]] ?? []
    }

    func labelValues(_ label: String, match: String) throws -> [String] {
        try api("/api/v1/label/\(label)/values?\(Self.encode("match[]"))=\(Self.encode(match))") as? [String] ?? []
    }

    /// The alerting rules of every group.
    func rules() throws -> [[String: Any]] {
        let groups = (try api("/api/v1/rules?type=alert") as? [String: Any])?["groups"] as? [[String: Any]] ?? []
        return groups.filter { $0["name"] as? String == "hatchling-fleet" }.flatMap { $0["rules"] as? [[String: Any]] ?? [] }
    }

    /// The active (pending and firing) alerts.
    func alerts() throws -> [[String: Any]] {
        (try api("/api/v1/alerts") as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
    }

    /// Waits until alert `name` is active in `state` for the hatchling (or with the reason).
    func waitForAlert(_ name: String, hatchling: String? = nil, reason: String? = nil, state: String) async throws {
        var last: [[String: Any]] = []
        do {
            try await waitForAsync("\(name) \(state) for \(hatchling ?? reason ?? "")", timeout: 90) {
                last = (try? self.alerts()) ?? []
                return last.contains { alert in
                    let labels = alert["labels"] as? [String: String] ?? [:]
                    return labels["alertname"] == name && alert["state"] as? String == state
                        && (hatchling == nil || labels["hatchling"] == hatchling) && (reason == nil || labels["reason"] == reason)
                }
            }
        } catch {
            throw TestError("\(error); active alerts: \(last)")
        }
    }

    /// `data` of an API answer whose status is success.
    func api(_ pathAndQuery: String) throws -> Any {
        let (status, body) = try get(pathAndQuery)
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw TestError("HTTP \(status), not JSON: \(body.prefix(500))")
        }
        guard status == 200, object["status"] as? String == "success", let data = object["data"] else {
            throw TestError("HTTP \(status): \(body.prefix(500))")
        }
        return data
    }

    /// A GET of Prometheus's HTTP API (HTTP/1.0, bounded waits, so a poll gets a fresh attempt).
    func get(_ pathAndQuery: String) throws -> (status: Int, body: String) {
        try httpGet(port: port, path: pathAndQuery)
    }

    /// Percent-encoding for a query string value (everything but unreserved characters).
    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// The program's path, or an error that says how to install it (the tests need it: no skipping).
func requiredTool(_ name: String) throws -> String {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") + ["/usr/bin", "/usr/local/bin", "/bin"] {
        let path = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    throw TestError("\(name) is not installed: scripts/install-deps.sh installs it (apt-get install prometheus)")
}

/// Runs a program to completion on a thread of its own, in `directory` when given; its status and
/// its standard output and error together.
func runTool(_ path: String, _ arguments: [String], in directory: URL? = nil) async throws -> (status: Int32, output: String) {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            if let directory { process.currentDirectoryURL = directory }
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
                return
            }
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            continuation.resume(returning: (process.terminationStatus, String(decoding: output, as: UTF8.self)))
        }
    }
}

/// The capture groups (whole match first) of every match of `pattern`.
func regexMatches(of pattern: String, in text: String) -> [[String]] {
    guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
    let range = NSRange(text.startIndex..., in: text)
    return regex.matches(in: text, range: range).map { match in
        (0..<match.numberOfRanges).map { index in
            Range(match.range(at: index), in: text).map { String(text[$0]) } ?? ""
        }
    }
}
