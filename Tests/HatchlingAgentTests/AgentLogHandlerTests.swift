import FleetProtocol
import Foundation
import Logging
import Testing

@testable import HatchlingAgent

@Suite("Log lines")
struct AgentLogHandlerTests {
    static let time = FleetTimestamp(millisecondsSinceEpoch: 1_795_928_400_120)

    func line(_ level: Logger.Level, _ message: Logger.Message, _ extra: Logger.Metadata?, handler: Logger.Metadata = [:]) -> String {
        let event = LogEvent(level: level, message: message, metadata: extra, source: nil, file: #fileID, function: #function, line: #line)
        return String(decoding: AgentLogHandler.line(for: event, label: "hatchling-agent", metadata: handler, at: Self.time), as: UTF8.self)
    }

    func line(_ format: LogFormat, _ message: Logger.Message, _ extra: Logger.Metadata?) -> String {
        let event = LogEvent(level: .warning, message: message, metadata: extra, source: nil, file: #fileID, function: #function, line: #line)
        return String(
            decoding: AgentLogHandler.line(for: event, label: "hatchling-agent", metadata: ["h": "1"], at: Self.time, format: format), as: UTF8.self)
    }

    /// A logfmt line's pairs, read as logfmt readers read them (bare or double-quoted values, `\` escapes).
    static func logfmt(_ line: String) -> [(String, String)]? {
        var pairs: [(String, String)] = []
        var rest = Substring(line.dropLast())
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "=") else { return nil }
            let key = String(rest[..<equals])
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let character = rest.first, character != "\"" {
                    rest = rest.dropFirst()
                    if character == "\\", let next = rest.first {
                        value.append(next == "n" ? "\n" : next)
                        rest = rest.dropFirst()
                    } else {
                        value.append(character)
                    }
                }
                guard rest.first == "\"" else { return nil }
                rest = rest.dropFirst()
            } else {
                value = String(rest.prefix { $0 != " " })
                rest = rest.dropFirst(value.count)
            }
            pairs.append((key, value))
            if rest.first == " " { rest = rest.dropFirst() } else if !rest.isEmpty { return nil }
        }
        return pairs
    }

    @Test(
        "LOG_FORMAT=logfmt: ts, level, logger, msg, then the metadata; each line parses; a reserved key in the metadata is renamed; a newline stays escaped"
    )
    func logfmtLines() throws {
        let written = line(.logfmt, "connected to broker", ["mqtt.broker": "127.0.0.1:1883", "msg": "clash", "why": "two words\nforged=1"])
        #expect(written.filter { $0 == "\n" }.count == 1)
        let pairs = try #require(Self.logfmt(written), "\(written)")
        #expect(pairs.map(\.0) == ["ts", "level", "logger", "msg", "h", "meta.msg", "mqtt.broker", "why"])
        #expect(pairs.first { $0.0 == "msg" }?.1 == "connected to broker")
        #expect(pairs.first { $0.0 == "ts" }?.1 == "2026-11-29T05:00:00.120Z" && pairs.first { $0.0 == "level" }?.1 == "warning")
        #expect(pairs.first { $0.0 == "why" }?.1 == "two words\nforged=1")
    }

    @Test("LOG_FORMAT=json: one object a line, keys sorted, metadata as strings, a reserved key renamed, control characters escaped")
    func jsonLines() throws {
        let written = line(.json, "connected \"q\"\nx", ["mqtt.broker": "127.0.0.1:1883", "level": "clash", "t": "a\u{01}"])
        #expect(written.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(written.utf8)) as? [String: String], "\(written)")
        #expect(
            object == [
                "ts": "2026-11-29T05:00:00.120Z", "level": "warning", "logger": "hatchling-agent", "msg": "connected \"q\"\nx", "h": "1",
                "meta.level": "clash", "mqtt.broker": "127.0.0.1:1883", "t": "a\u{01}",
            ])
        #expect(written.hasPrefix(#"{"h":"1","level":"warning","#))
    }

    @Test("a command's line written straight to the handler has the fields, in the order, that swift-log's path gives it")
    func decisionLineFastPath() {
        let lines = [
            DecisionLogLine(
                level: .info, message: "command handled", id: "a b", command: "health-check", durationMs: 12, topic: "fleet/x/command",
                outcome: "ok"),
            DecisionLogLine(level: .warning, message: "command refused", id: "x", topic: "fleet/x/command", outcome: "rate-limited"),
            DecisionLogLine(level: .notice, message: "duplicate", command: "status-report"),
            DecisionLogLine(level: .info, message: "nothing else"),
        ]
        for decision in lines {
            for published in [true, false] {
                let event = LogEvent(
                    level: decision.level, message: "\(decision.message)", metadata: decision.metadata(published: published), source: nil,
                    file: #fileID, function: #function, line: #line)
                let viaSwiftLog = AgentLogHandler.fields([:], event)
                let direct = decision.sortedFields(published: published)
                #expect(direct.map(\.0) == viaSwiftLog.map(\.0), "\(decision)")
                #expect(direct.map(\.1) == viaSwiftLog.map(\.1), "\(decision)")
                for format in LogFormat.allCases {
                    let swiftLogLine = AgentLogHandler.line(for: event, label: "hatchling-agent", metadata: [:], at: Self.time, format: format)
                    let directLine = LogLine.bytes(
                        format: format, time: Self.time, level: decision.level.rawValue, label: "hatchling-agent", message: decision.message,
                        fields: direct)
                    #expect(directLine == swiftLogLine, "\(format): \(String(decoding: directLine, as: UTF8.self))")
                }
            }
        }
    }

    @Test("time, level, label, message, then the metadata sorted by key, one line")
    func layout() {
        #expect(
            line(.info, "command handled", ["command.outcome": "ok", "command.id": "c-1", "command.name": "version-report"])
                == "2026-11-29T05:00:00.120Z info hatchling-agent: command handled command.id=c-1 command.name=version-report command.outcome=ok\n")
        #expect(line(.warning, "no fields", nil) == "2026-11-29T05:00:00.120Z warning hatchling-agent: no fields\n")
    }

    @Test("values with a space, a quote or an equals sign, and empty ones, are quoted; quotes escaped")
    func quoting() {
        #expect(
            line(.error, "x", ["a": "two words", "b": "", "c": "k=v", "d": "say \"hi\"", "e": "plain"])
                == #"2026-11-29T05:00:00.120Z error hatchling-agent: x a="two words" b="" c="k=v" d="say \"hi\"" e=plain"# + "\n")
    }

    @Test("a newline or other control character in a value or the message cannot start a new line")
    func controlCharacters() {
        let written = line(
            .info, "first\nsecond", ["id": "x\n2026-11-29T05:00:00.000Z error hatchling-agent: forged", "p": #"C:\dir"#, "t": "a\tb\u{01}"])
        #expect(written.filter { $0 == "\n" }.count == 1, "one line: \(written)")
        #expect(
            written
                == #"2026-11-29T05:00:00.120Z info hatchling-agent: first\nsecond id="x\n2026-11-29T05:00:00.000Z error hatchling-agent: forged" p="C:\\dir" t="a\tb\u0001""#
                + "\n")
    }

    @Test("the handler's metadata and the event's are merged; the event's wins")
    func merging() {
        #expect(
            line(.debug, "m", ["b": "event", "c": "3"], handler: ["a": "1", "b": "handler"])
                == "2026-11-29T05:00:00.120Z debug hatchling-agent: m a=1 b=event c=3\n")
    }

    @Test("setting a logger's level changes that logger only; a reload's level reaches the others, not it")
    func perHandlerLevel() {
        let shared = SharedLogLevel(.info)
        let first = Logger(label: "a", factory: { AgentLogHandler(label: $0, level: shared) })
        var second = first
        var third = Logger(label: "c", factory: { AgentLogHandler(label: $0, level: shared) })
        #expect(first.logLevel == .info && second.logLevel == .info && third.logLevel == .info)

        second.logLevel = .trace
        #expect(second.logLevel == .trace)
        #expect(first.logLevel == .info, "a copy of the logger keeps its level")
        #expect(third.logLevel == .info, "another logger keeps its level")
        #expect(shared.value == .info, "the process's level is not changed")

        // A reload sets the shared level: every handler without a level of its own follows it.
        shared.value = .error
        #expect(first.logLevel == .error && third.logLevel == .error)
        #expect(second.logLevel == .trace, "a level set on the logger wins over the shared one")

        third.logLevel = .debug
        shared.value = .warning
        #expect(third.logLevel == .debug && first.logLevel == .warning)
    }

    @Test("lists, dictionaries and string-convertible values print as swift-log prints them")
    func otherValues() {
        #expect(
            line(.info, "m", ["l": ["x", "y"], "n": .stringConvertible(42)])
                == #"2026-11-29T05:00:00.120Z info hatchling-agent: m l="[\"x\", \"y\"]" n=42"# + "\n")
    }
}
