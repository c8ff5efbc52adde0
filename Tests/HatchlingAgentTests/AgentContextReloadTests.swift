import FleetProtocol
import FleetSigning
import Foundation
import Logging
import Testing

@testable import HatchlingAgent

/// Runs `body` with a configuration file in a fresh temporary directory, removed afterwards.
func withConfigFile<T>(_ text: String, _ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hatchling-agent-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("agent.env")
    try Data(text.utf8).write(to: file)
    return try await body(file)
}

/// The digest as the `sha256sum` program computes it.
func sha256sum(_ file: URL) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [file.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
}

func makeContext(environment: [String: String]) throws -> AgentContext {
    let loader = ConfigurationLoader(environment: environment)
    let loaded = try loader.load()
    return AgentContext(loaded: loaded, loader: loader, logLevel: SharedLogLevel(loaded.configuration.logLevel))
}

@Suite("AgentContext.reload")
struct AgentContextReloadTests {
    @Test("a valid file: changed names, the restart-required part, and the file's SHA-256")
    func validReload() async throws {
        try await withConfigFile("HEARTBEAT_INTERVAL=30\n") { file in
            let context = try makeContext(environment: ["HATCHLING_NAME": "mason", "HATCHLING_AGENT_CONFIG": file.path])
            let before = context.configuration
            let newText = "# reloaded\nHEARTBEAT_INTERVAL=5\nMQTT_HOST=other:1884\nLOG_LEVEL=debug\n"
            try Data(newText.utf8).write(to: file)

            let report = try context.reload().get()
            #expect(report.report.changed == ["MQTT_HOST", "MQTT_PORT", "HEARTBEAT_INTERVAL", "LOG_LEVEL"])
            #expect(report.report.restartRequired == ["MQTT_HOST", "MQTT_PORT"])
            #expect(Set(report.report.restartRequired).isSubset(of: report.report.changed))
            #expect(report.report.configSha256 == PayloadDigest.sha256Hex(Array(newText.utf8)))
            let fromProgram = try sha256sum(file)
            #expect(fromProgram.count == 64)
            #expect(report.report.configSha256 == fromProgram)

            let after = context.configuration
            #expect(after.heartbeatInterval == 5)
            #expect(after.logLevel == .debug)
            #expect(after.brokers == before.brokers, "the broker needs a restart")
            #expect(after.sources[.heartbeatInterval] == "\(file.path):2")
            #expect(context.logLevel.value == .debug)
            #expect(context.counters.snapshot.reloads == 1)
            #expect(context.counters.snapshot.reloadFailures == 0)

            #expect(report.applied == after, "the reload returns the settings it put in force")
        }
    }

    @Test("an unchanged file reloads with nothing changed and the same digest")
    func unchangedReload() async throws {
        let text = "HEARTBEAT_INTERVAL=30\n"
        try await withConfigFile(text) { file in
            let context = try makeContext(environment: ["HATCHLING_NAME": "mason", "HATCHLING_AGENT_CONFIG": file.path])
            let report = try context.reload().get()
            #expect(report.report.changed.isEmpty)
            #expect(report.report.restartRequired.isEmpty)
            let fromProgram = try sha256sum(file)
            #expect(report.report.configSha256 == fromProgram)
        }
    }

    @Test("an invalid file changes nothing and fails with reload-failed")
    func invalidReload() async throws {
        try await withConfigFile("HEARTBEAT_INTERVAL=30\n") { file in
            let context = try makeContext(environment: ["HATCHLING_NAME": "mason", "HATCHLING_AGENT_CONFIG": file.path])
            let before = context.configuration
            try Data("HEARTBEAT_INTERVAL=5\nCOMMAND_RATE_BURST=secret-xyz\n".utf8).write(to: file)
            let result = context.reload()
            guard case .failure(let body) = result else {
                Issue.record("expected a failure, got \(result)")
                return
            }
            #expect(body.code == .reloadFailed)
            #expect(body.message.contains("COMMAND_RATE_BURST"))
            #expect(body.message.contains("previous settings stay in force"))
            #expect(!body.message.contains("secret-xyz"))
            #expect(!body.message.contains(file.path), "no path crosses the bus (ADR-005)")
            #expect(body.message.contains("configuration file line 2"))
            #expect(context.configuration == before)
            #expect(context.configuration.heartbeatInterval == 30, "no part of an invalid file is applied")
            #expect(context.counters.snapshot.reloadFailures == 1)
            #expect(context.counters.snapshot.reloads == 0)
        }
    }

    @Test("a file that has disappeared fails with reload-failed")
    func vanishedFile() async throws {
        let context = try await withConfigFile("HEARTBEAT_INTERVAL=30\n") { file in
            try makeContext(environment: ["HATCHLING_NAME": "mason", "HATCHLING_AGENT_CONFIG": file.path])
        }
        guard case .failure(let body) = context.reload() else {
            Issue.record("expected a failure")
            return
        }
        #expect(body.code == .reloadFailed)
        #expect(!body.message.contains("/"), "the file's path stays off the bus: \(body.message)")
    }

    @Test("an unknown setting name in the file is not repeated on the bus")
    func unknownNameStaysLocal() async throws {
        try await withConfigFile("HEARTBEAT_INTERVAL=30\n") { file in
            let context = try makeContext(environment: ["HATCHLING_NAME": "mason", "HATCHLING_AGENT_CONFIG": file.path])
            try Data("PRIVATE_TOKEN_NAME=1\n".utf8).write(to: file)
            guard case .failure(let body) = context.reload() else {
                Issue.record("expected a failure")
                return
            }
            #expect(!body.message.contains("PRIVATE_TOKEN_NAME"))
            #expect(body.message.contains("configuration file line 1"))
        }
    }

    @Test("without HATCHLING_AGENT_CONFIG there is nothing to reload")
    func noConfigFile() throws {
        let context = try makeContext(environment: ["HATCHLING_NAME": "mason"])
        guard case .failure(let body) = context.reload() else {
            Issue.record("expected a failure")
            return
        }
        #expect(body.code == .reloadFailed)
        #expect(body.message.contains("HATCHLING_AGENT_CONFIG"))
        #expect(context.counters.snapshot.reloadFailures == 1)
    }
}
