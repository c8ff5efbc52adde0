import FleetProtocol
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
        let written = line(.info, "first\nsecond", ["id": "x\n2026-11-29T05:00:00.000Z error hatchling-agent: forged", "p": #"C:\dir"#, "t": "a\tb\u{01}"])
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

    @Test("lists, dictionaries and string-convertible values print as swift-log prints them")
    func otherValues() {
        #expect(
            line(.info, "m", ["l": ["x", "y"], "n": .stringConvertible(42)])
                == #"2026-11-29T05:00:00.120Z info hatchling-agent: m l="[\"x\", \"y\"]" n=42"# + "\n")
    }
}
