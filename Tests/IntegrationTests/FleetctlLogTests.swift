import Foundation
import HatchlingSystem
import Testing

@Suite("fleetctl's own log lines in LOG_FORMAT", .serialized)
struct FleetctlLogTests {
    /// `key=value` pairs of one logfmt line (values bare or in double quotes with `\"`, `\\`, `\n`
    /// escapes); nil when the line is not logfmt.
    static func logfmt(_ line: Substring) -> [String: String]? {
        var pairs: [String: String] = [:]
        var rest = line
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "="), !rest[..<equals].isEmpty, !rest[..<equals].contains(" ") else { return nil }
            let key = String(rest[..<equals])
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var closed = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if character == "\"" { closed = true; break }
                    if character == "\\", let escaped = rest.first {
                        rest = rest.dropFirst()
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else {
                        value.append(character)
                    }
                }
                guard closed else { return nil }
            } else {
                value = String(rest.prefix { $0 != " " })
                rest = rest.dropFirst(value.count)
            }
            guard pairs.updateValue(value, forKey: key) == nil else { return nil }
            if rest.first == " " { rest = rest.dropFirst() } else if !rest.isEmpty { return nil }
        }
        return pairs
    }

    /// Every line of `text` as key/value pairs, in `format`; records a failure for a line that does not parse.
    static func events(_ text: String, format: String) -> [[String: String]] {
        text.split(separator: "\n").compactMap { line in
            let fields: [String: String]?
            if format == "json" {
                fields = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: String]
            } else {
                fields = Self.logfmt(line)
            }
            #expect(fields != nil, "not a \(format) line: \(line)")
            return fields
        }
    }

    @Test(
        "exporter: every line on standard error parses, with ts, level, logger, msg and command; a lost broker is a warning",
        arguments: ["json", "logfmt"])
    func exporterLines(_ format: String) async throws {
        try await withBroker { broker in
            let port = try freePort()
            let directory = try makeTemporaryDirectory(prefix: "fleetctl-log")
            let output = directory.appendingPathComponent("out.txt")
            let errors = directory.appendingPathComponent("err.txt")
            let exporter = try Fleetctl.start(
                ["exporter", "--listen", "127.0.0.1:\(port)"], environment: Fleetctl.environment(broker, ["LOG_FORMAT": format]),
                output: output, errors: errors)
            func logged() -> String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }
            do {
                try await waitFor("connected", timeout: 20) { logged().contains("connected to") }
                await broker.stop()
                try await waitFor("not connected", timeout: 20) { logged().contains("not connected") }
                try await broker.start()
                try await waitFor("connected again", timeout: 30) { logged().components(separatedBy: "connected to").count >= 3 }
                #expect(await exporter.terminate(signal: SIGTERM, grace: 10) == 0)
            } catch {
                await exporter.terminate(signal: SIGKILL, grace: 5)
                throw error
            }
            let events = Self.events(logged(), format: format)
            #expect(events.count >= 5, "\(logged())")
            for event in events {
                #expect(event["ts"].flatMap { $0.hasSuffix("Z") && $0.count == 24 ? $0 : nil } != nil, "\(event)")
                #expect(event["logger"] == "fleetctl" && event["command"] == "exporter", "\(event)")
                #expect(["info", "warning", "error"].contains(event["level"] ?? ""), "\(event)")
                #expect(!(event["msg"] ?? "").isEmpty && !(event["msg"] ?? "").hasPrefix("fleetctl"), "\(event)")
            }
            #expect(events.contains { $0["level"] == "warning" && $0["msg"]!.hasPrefix("not connected") }, "\(events)")
            #expect(events.contains { $0["level"] == "info" && $0["msg"]!.hasPrefix("serving http://127.0.0.1:\(port)/metrics") }, "\(events)")
            #expect(events.last?["msg"] == "stopped", "\(events)")
        }
    }

    @Test("an error is one event with level error; LOG_FORMAT naming no format is a usage error (2); text stays as it was")
    func errorsAndText() async throws {
        let port = try freePort()  // nothing listens there
        let environment = [
            "MQTT_HOST": "127.0.0.1", "MQTT_PORT": String(port), "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        let json = try await Fleetctl.run(["status", "--json"], environment: environment.merging(["LOG_FORMAT": "JSON"]) { $1 })
        #expect(json.status == 3, "\(json)")
        let events = Self.events(json.stderr, format: "json")
        #expect(events.count == 1 && events.first?["level"] == "error" && events.first?["logger"] == "fleetctl", "\(json.stderr)")
        #expect(events.first?["command"] == nil && (events.first?["msg"] ?? "").contains("127.0.0.1:\(port)"), "\(events)")

        let text = try await Fleetctl.run(["status"], environment: environment)
        #expect(text.status == 3 && text.stderr.hasPrefix("fleetctl: ") && text.stderr.filter { $0 == "\n" }.count == 1, "\(text)")

        let bogus = try await Fleetctl.run(["status"], environment: environment.merging(["LOG_FORMAT": "yaml\u{1B}[2J"]) { $1 })
        #expect(bogus.status == 2 && bogus.stderr == "fleetctl: LOG_FORMAT must be one of text, logfmt, json\n", "\(bogus)")
    }
}
