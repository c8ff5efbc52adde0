import FleetProtocol
import MosquittoClient

/// An event read off `<root>/<name>/event`: the hatchling it came from (the name in the topic,
/// which the broker's ACL ties to the publisher) and its payload, checked against the contract.
public struct FleetEvent: Sendable, Equatable {
    public var hatchling: String
    public var payload: EventPayload

    public init(hatchling: String, payload: EventPayload) {
        self.hatchling = hatchling
        self.payload = payload
    }

    /// What one message is, for a reader of events.
    public enum Reading: Sendable, Equatable {
        case event(FleetEvent)
        /// On an event topic but not an event of the contract: why, in a few words of text that
        /// may hold what the publisher sent (clean it before a terminal shows it).
        case malformed(topic: String, problem: String)
        /// Not on an event topic.
        case other
    }

    /// Every hatchling's event topic.
    public static func filter(root: String) -> String { "\(root)/+/event" }

    /// Reads `message`. A retained event is malformed too: events are never retained, so one the
    /// broker holds is old news it replays to every new subscriber.
    public static func read(_ message: MQTTMessage, root: String) -> Reading {
        guard let (name, leaf) = FleetTopics.hatchlingName(inTopic: message.topic, root: root), leaf == "event" else { return .other }
        guard (try? HatchlingName(validating: name)) != nil else {
            return .malformed(topic: message.topic, problem: "the topic does not name a hatchling")
        }
        if message.retain {
            return .malformed(topic: message.topic, problem: "retained by the broker (events are never retained)")
        }
        guard let payload = EventPayload.parse(message.payload) else {
            return .malformed(topic: message.topic, problem: EventPayload.problems(message.payload).joined(separator: "; "))
        }
        return .event(FleetEvent(hatchling: name, payload: payload))
    }

    /// `2026-12-03T09:00:00.000Z  mason  task-done  seq=7  {"k":"v"}`, cleaned for a terminal
    /// (`TerminalText.clean`): the data is the gateway's, and JSON lets a string carry C1 controls
    /// and bidirectional overrides as they are.
    public var line: String {
        let data = String(decoding: JSONScan.compacted(payload.data[...]), as: UTF8.self)
        return TerminalText.clean("\(payload.ts)  \(hatchling)  \(payload.event)  seq=\(payload.seq)  \(data)")
    }

    /// One line of `events --json`, keys sorted: `{"boot_id":…,"data":{…},"event":…,"hatchling":…,"seq":7,"ts":…}`.
    /// `data` is the object as sent, without the white space between its tokens (a newline there
    /// would split the line); `ts` is written in UTC with milliseconds.
    public var jsonLine: [UInt8] {
        func string(_ text: String) -> [UInt8] {
            var writer = JSONWriter()
            writer.string(text)
            return writer.bytes
        }
        var line = Array(#"{"boot_id":"#.utf8) + string(payload.bootId)
        line += Array(#","data":"#.utf8) + JSONScan.compacted(payload.data[...])
        line += Array(#","event":"#.utf8) + string(payload.event)
        line += Array(#","hatchling":"#.utf8) + string(hatchling)
        line += Array(#","seq":\#(payload.seq),"ts":"#.utf8) + string(payload.ts.description)
        return line + Array("}\n".utf8)
    }
}
