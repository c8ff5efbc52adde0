import FleetProtocol
import Foundation
import Testing

@Suite("The hatchling-agent executable")
struct CLITests {
    /// A setting's name as check-config pads it: to the longest name (HEALTH_DISK_FREE_DEGRADED_PCT, 29) and two spaces.
    static func padded(_ key: String) -> String { key + String(repeating: " ", count: 31 - key.count) }

    let base = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]

    @Test(
        "a bad HATCHLING_NAME is one line naming the variable and the rule, exit 2",
        arguments: [
            ("", "is required"), ("a/b", "may contain only"), ("-x", "must start with a letter or a digit"),
            (String(repeating: "n", count: 65), "at most 64"), ("sp ace", "may contain only"), ("wild+", "may contain only"),
        ])
    func badName(name: String, rule: String) throws {
        var environment = base
        if !name.isEmpty { environment["HATCHLING_NAME"] = name }
        for arguments in [[], ["run"], ["check-config"]] {
            let result = try runAgentCommand(arguments, environment: environment)
            #expect(result.status == 2)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(result.stderr)")
            #expect(result.stderr.contains("HATCHLING_NAME"))
            #expect(result.stderr.contains(rule), "\(result.stderr)")
        }
    }

    @Test(
        "other bad values name their variable, exit 2",
        arguments: [
            ("MQTT_PORT", "70000"), ("MQTT_PROTOCOL", "4.0"), ("MQTT_KEEPALIVE", "1"), ("HEARTBEAT_INTERVAL", "0"),
            ("COMMAND_RATE_LIMIT", "-1"), ("GATEWAY_HEALTH_URL", "ftp://x"), ("MQTT_TOPIC_ROOT", "fleet/#"),
            ("MQTT_PASSWORD_FILE", "/nonexistent/password"), ("LOG_LEVEL", "loud"), ("FLEET_COMMAND_KEY", "k"),
        ])
    func badValues(key: String, value: String) throws {
        var environment = base
        environment["HATCHLING_NAME"] = "mason"
        environment[key] = value
        let result = try runAgentCommand(["check-config"], environment: environment)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("hatchling-agent: configuration error: \(key) "), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test("check-config shows effective settings and sources, with secrets as ***")
    func checkConfig() throws {
        let directory = try makeTemporaryDirectory(prefix: "cli")
        let passwordFile = directory.appendingPathComponent("password")
        try "s3cret-file-password\n".write(to: passwordFile, atomically: true, encoding: .utf8)
        let configFile = directory.appendingPathComponent("agent.env")
        try "# comment\nexport HEARTBEAT_INTERVAL=\"15\"\nMQTT_HOST=broker-a:1884,broker-b\n".write(to: configFile, atomically: true, encoding: .utf8)
        var environment = base
        environment["HATCHLING_NAME"] = "mason"
        environment["MQTT_USERNAME"] = "mason"
        environment["MQTT_PASSWORD_FILE"] = passwordFile.path
        environment["HEARTBEAT_INTERVAL"] = "60"
        environment["HATCHLING_AGENT_CONFIG"] = configFile.path
        let table = try runAgentCommand(["check-config"], environment: environment)
        #expect(table.status == 0, "\(table.stderr)")
        #expect(!table.stdout.contains("s3cret"))
        #expect(table.stdout.contains("\n\(Self.padded("MQTT_PASSWORD"))***  [read from MQTT_PASSWORD_FILE]\n"), "\(table.stdout)")
        #expect(table.stdout.contains("\(Self.padded("HEARTBEAT_INTERVAL"))15  [\(configFile.path):2]"))
        #expect(table.stdout.contains("\(Self.padded("MQTT_HOST"))broker-a:1884,broker-b:1883"))
        #expect(table.stdout.contains("\(Self.padded("MQTT_CLIENT_ID"))mason  [default]"), "\(table.stdout)")
        #expect(table.stdout.contains("config_sha256"))

        environment["MQTT_PASSWORD_FILE"] = nil
        environment["MQTT_PASSWORD"] = "s3cret-env-password"
        let json = try runAgentCommand(["check-config", "--json"], environment: environment)
        #expect(json.status == 0)
        #expect(!json.stdout.contains("s3cret"))
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: [String: String]]
        #expect(object?["MQTT_PASSWORD"]?["value"] == "***")
        #expect(object?["MQTT_PASSWORD"]?["source"] == "environment")
    }

    @Test("--help explains every setting; --version prints the version")
    func helpAndVersion() throws {
        let help = try runAgentCommand(["--help"], environment: base)
        #expect(help.status == 0)
        for key in [
            "HATCHLING_NAME", "MQTT_HOST", "MQTT_PORT", "MQTT_PROTOCOL", "MQTT_CLIENT_ID", "MQTT_KEEPALIVE", "MQTT_TOPIC_ROOT",
            "MQTT_BROADCAST_TOPIC", "MQTT_USERNAME", "MQTT_PASSWORD", "MQTT_PASSWORD_FILE", "MQTT_TLS_CA", "MQTT_TLS_CERT",
            "MQTT_TLS_KEY", "MQTT_RECONNECT_MAX", "COMMAND_RATE_LIMIT", "COMMAND_RATE_BURST", "HEARTBEAT_INTERVAL",
            "GATEWAY_HEALTH_URL", "HATCHLING_DATA_DIR", "HATCHLING_AGENT_CONFIG", "FLEET_COMMAND_KEY", "IMAGE_VERSION", "LOG_LEVEL",
        ] {
            #expect(help.stdout.contains(key), "--help does not explain \(key)")
        }
        #expect(help.stdout.contains("metrics"))
        #expect(help.stdout.contains("check-config"))
        let version = try runAgentCommand(["--version"], environment: base)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1.0.0")
    }

    @Test("metrics prints every heartbeat section as JSON, with no broker and no name")
    func metrics() throws {
        let directory = try makeTemporaryDirectory(prefix: "metrics")
        var environment = base
        environment["HATCHLING_DATA_DIR"] = directory.path
        environment["GATEWAY_HEALTH_URL"] = "http://127.0.0.1:9/health"
        let result = try runAgentCommand(["metrics", "--sample", "0.1"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        for section in ["agent", "host", "container", "disk", "gateway", "health"] {
            #expect(object[section] != nil, "missing \(section)")
        }
        let host = try #require(object["host"] as? [String: Any])
        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let totalKB = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }!.split(separator: " ")[1]
        #expect((host["mem_total_bytes"] as? Int) == Int(totalKB)! * 1024)
        #expect(host["cpu_pct"] is Double || host["cpu_pct"] is Int, "two samples give a CPU figure")
        let disk = try #require(object["disk"] as? [String: Any])
        #expect(disk["path"] as? String == directory.path)
        let gateway = try #require(object["gateway"] as? [String: Any])
        #expect(gateway["ok"] as? Bool == false)
    }
}

@Suite("Fuzz corpus")
struct FuzzCorpusTests {
    @Test("every seed of Fuzz/corpus goes through the dispatcher to a well-formed response on the response topic")
    func replayCorpus() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let replayer = root.appendingPathComponent(".build/debug/command-fuzz")
        try #require(FileManager.default.isExecutableFile(atPath: replayer.path), "swift build builds command-fuzz")
        let corpus = root.appendingPathComponent("Fuzz/corpus")
        let seeds = try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { !$0.hasPrefix(".") }.count
        #expect(seeds >= 19)
        let output = try runProgram(replayer.path, [corpus.path])
        #expect(output.contains("replayed \(seeds) inputs"), "\(output)")
    }
}
