import FleetProtocol
import HatchlingSystem
import MosquittoClient

/// What `forget` did, or would not do, for one hatchling.
public struct ForgetOutcome: Sendable, Equatable, Encodable {
    public enum Result: String, Sendable, Encodable {
        /// Its retained status and heartbeat were cleared, and a fresh subscription got neither.
        case forgotten
        /// Cleared with `--force` while the hub saw it online: its agent, if it runs, announces itself
        /// again at its next connect; until then `send --all` skips it.
        case forgottenWhileOnline = "forgotten-while-online"
        /// Nothing was retained for it (with `--force`: the clear was sent and checked anyway).
        case nothingRetained = "nothing-retained"
        /// Not cleared: the hub sees it online, or its retained status says online (no `--force`).
        case refusedOnline = "refused-online"
        /// Not cleared: nothing is retained for it, so the name may be a typo (no `--force`).
        case refusedUnknown = "refused-unknown"
        /// Not cleared because another name was refused: without `--force` it is all or nothing.
        case notAttempted = "not-attempted"
        /// The broker still holds the retained message after a clear it acknowledged (MQTT 3.1.1
        /// acknowledges a denied publish as if it passed) or refused as not authorised: its ACL
        /// does not let this user write there (the template's: only zephyr-admin may).
        case kept
        /// The clear did not go through for another reason than the ACL (no acknowledgement in
        /// time, the connection lost, another reason code): the message is still there.
        case failed
        /// Cleared, and its agent published again at once: it is still running.
        case republished
    }

    public var hatchling: String
    /// What the hub saw before: `online`, `offline` or `stale`; nil when nothing was retained.
    public var state: String?
    /// The state's reason (`shutdown`, `lost`, why stale), as `status` shows it.
    public var reason: String?
    public var result: Result
    /// One sentence for people.
    public var detail: String
    /// The status and heartbeat topics that still hold a retained message after the clear.
    public var remaining: [String] = []
    /// Other topics of the hatchling holding a retained message (never cleared by `forget`).
    public var otherRetained: [String] = []
}

/// The outcome of one `forget`.
public struct ForgetReport: Sendable, Equatable, Encodable {
    public var forced: Bool
    public var hatchlings: [ForgetOutcome]
    /// What to do next, when something was refused or kept.
    public var note: String?
    /// 0 done; 1 refused (online or unknown without --force), or published again at once by its
    /// agent (without --force); 3 the broker kept a retained message (its ACL), or the clear failed.
    public var exitStatus: Int32
}

/// The decision before anything is published: which names may be cleared.
public struct ForgetCheck: Sendable, Equatable {
    public var name: HatchlingName
    /// The hub's view of it; nil when nothing is retained for it.
    public var summary: HatchlingSummary?
    /// Its retained status says online: the broker still counts its connection as alive.
    public var statusSaysOnline: Bool
    /// Why it may not be cleared without `--force` (`refusedOnline`, `refusedUnknown`), or nil.
    public var blocker: ForgetOutcome.Result?

    /// Judges `name` in `view` (the retained snapshot, read as `status` reads it) at `now`.
    ///
    /// Online means the hub's `online` (a fresh heartbeat), or a retained status that says online
    /// whatever the heartbeat: the broker has not published the Last Will, so the agent may be
    /// connected and frozen; forgetting it would hide it from `send --all` until it reconnects.
    public init(name: HatchlingName, view: FleetView, now: FleetTimestamp) {
        self.name = name
        let record = view.records[name.rawValue]
        summary = record.map { HatchlingSummary($0, now: now) }
        statusSaysOnline = record?.status?.state == .online
        if summary == nil {
            blocker = .refusedUnknown
        } else if summary?.state == .online || statusSaysOnline {
            blocker = .refusedOnline
        } else {
            blocker = nil
        }
    }

    func outcome(_ result: ForgetOutcome.Result, _ detail: String, remaining: [String] = [], other: [String] = []) -> ForgetOutcome {
        ForgetOutcome(
            hatchling: name.rawValue, state: summary?.state.rawValue, reason: summary?.reason, result: result, detail: detail,
            remaining: remaining, otherRetained: other)
    }

    /// Why it was refused, for people.
    var refusalText: String {
        switch blocker {
        case .refusedUnknown:
            return "refused: nothing is retained for it: not a hatchling this broker knows, or forgotten already (check the name; --force accepts it)"
        case .refusedOnline:
            if summary?.state == .online { return "refused: online now; stop its container first" }
            return "refused: its retained status says online (no Last Will yet), though its heartbeat is \(summary?.reason ?? "stale"); "
                + "stop its container first, or --force if you know it is gone"
        default:
            return ""
        }
    }
}

/// `fleetctl forget`: clears the retained status and heartbeat of retired hatchlings, then checks
/// with a fresh subscription that the broker no longer holds them.
public enum ForgetRunner {
    /// The broker user that retires hatchlings: the only hub user the template lets write statuses
    /// and heartbeats (template/mosquitto/acl, made by add-hub.sh --admin; RabbitMQ:
    /// template/rabbitmq/add-hatchling.sh --admin). zephyr, whose password the long-running hub
    /// tools hold, may not.
    public static let adminUser = "zephyr-admin"

    /// The topics `forget` clears: the only ones the contract retains (docs/protocol.md). Commands,
    /// responses and events are never retained, so there is nothing of them to forget.
    public static func clearedTopics(_ name: HatchlingName, settings: ConnectionSettings) -> [String] {
        let topics = settings.topics(for: name)
        return [topics.status, topics.heartbeat]
    }

    /// The hatchling's other topics: looked at after the clear (by a user that may read them, not
    /// zephyr-admin), reported when something holds a retained message there (a client that broke
    /// the contract), never cleared.
    static func otherTopics(_ name: HatchlingName, settings: ConnectionSettings) -> [String] {
        let topics = settings.topics(for: name)
        return [topics.command, topics.response, topics.event]
    }

    /// Runs one `forget` for `names` (duplicates dropped). `timeout`: how long the broker may take
    /// to drop the retained messages (RabbitMQ clears them asynchronously after the PUBACK).
    public static func run(
        names: [HatchlingName], force: Bool, settings: ConnectionSettings, timeout: Double = 5
    ) async throws(FleetctlError) -> ForgetReport {
        var unique: [HatchlingName] = []
        for name in names where !unique.contains(name) { unique.append(name) }

        // The retained snapshot of these hatchlings, by their exact topics (as `status NAME`).
        let hub = try await HubConnection.connect(settings)
        defer { hub.close() }
        try await hub.subscribeAndSettle(unique.flatMap { clearedTopics($0, settings: settings) }, qos: 0)
        var view = FleetView(root: settings.topicRoot)
        var before: [String: [UInt8]] = [:]
        for message in hub.drain() {
            view.apply(message)
            before[message.topic] = message.payload.isEmpty ? nil : message.payload
        }
        let now = FleetTimestamp.now()
        let checks = unique.map { ForgetCheck(name: $0, view: view, now: now) }
        if !force, checks.contains(where: { $0.blocker != nil }) {
            return refused(checks, settings: settings)
        }

        // The clear: a zero-length retained message, QoS 1, on each topic. A refusal (MQTT 5
        // `notAuthorized`, or RabbitMQ closing the connection) is noted as the ACL's; any other failure
        // (no PUBACK in time, a lost connection, another reason code) as what it is. The check
        // below decides what each left behind.
        var connection = hub
        var refusal: String? = nil
        var failure: String? = nil
        var reconnected = false
        publishing: for topic in checks.flatMap({ clearedTopics($0.name, settings: settings) }) {
            var result = await clear(topic, on: connection)
            if case .closed(let reason) = result, !reconnected {
                // RabbitMQ closes the connection on a publish its permissions deny; a connection
                // lost by chance looks the same. The same publish on a new connection tells them
                // apart: closed again, it is the denial.
                reconnected = true
                connection.close()
                do {
                    connection = try await HubConnection.connect(settings)
                } catch {
                    failure = "the connection ended at the clear of \(topic) (\(reason)), and connecting again failed: \(error)"
                    break publishing
                }
                result = await clear(topic, on: connection)
                if case .closed = result {
                    refusal =
                        "the broker closed the connection at the clear of \(topic), again on a new connection, as RabbitMQ does for a publish it denies"
                    break publishing
                }
            }
            switch result {
            case .acknowledged:
                continue
            case .notAuthorised:
                if refusal == nil { refusal = "the broker refused the clear: \(MQTTReasonCode.notAuthorized)" }
            case .closed(let reason):
                failure = "the connection ended at the clear of \(topic): \(reason)"
                break publishing
            case .failed(let reason):
                failure = reason
                break publishing
            }
        }
        connection.close()

        // The check: the PUBACK proves nothing (mosquitto under MQTT 3.1.1 acknowledges a denied
        // publish as if it passed), so subscribe again, on a new connection, and look.
        var left = try await retained(unique, settings: settings)
        let deadline = Monotonic.seconds() + timeout
        var pause = 0.1
        while refusal == nil, failure == nil, kept(left, before: before, names: unique, settings: settings), Monotonic.seconds() + pause < deadline {
            try? await Task.sleep(for: .milliseconds(Int(pause * 1000)))
            pause = min(pause * 2, 1)
            left = try await retained(unique, settings: settings)
        }
        return settle(checks, before: before, after: left, force: force, refusal: refusal, failure: failure, settings: settings)
    }

    /// How one clear went.
    enum ClearResult {
        /// PUBACK without an error (under MQTT 3.1.1 also a publish the ACL denied).
        case acknowledged
        /// PUBACK with the MQTT 5 reason code `notAuthorized`.
        case notAuthorised
        /// The connection ended while waiting for the PUBACK.
        case closed(String)
        /// Anything else: no PUBACK in time, another reason code, a publish that could not be sent.
        case failed(String)
    }

    /// Publishes the zero-length retained message on `topic` and waits for its PUBACK.
    static func clear(_ topic: String, on hub: HubConnection) async -> ClearResult {
        do {
            try await hub.publish(topic, [], qos: 1, retain: true)
            return .acknowledged
        } catch {
            if let ended = hub.ended { return .closed(ended.description) }
            if case .notAuthorised = error { return .notAuthorised }
            return .failed(error.description)
        }
    }

    /// Every retained message on the hatchlings' topics, as a fresh subscriber gets them.
    static func retained(_ names: [HatchlingName], settings: ConnectionSettings) async throws(FleetctlError) -> [String: [UInt8]] {
        let hub = try await HubConnection.connect(settings)
        defer { hub.close() }
        var found: [String: [UInt8]] = [:]
        func take() {
            for message in hub.drain() where message.retain && !message.payload.isEmpty {
                found[message.topic] = message.payload
            }
        }
        try await hub.subscribeAndSettle(names.flatMap { clearedTopics($0, settings: settings) }, qos: 0)
        take()
        // The other topics, only to report what a client left there against the contract: best
        // effort. Not as zephyr-admin, which may read statuses and heartbeats alone: mosquitto would
        // deliver it nothing there, and RabbitMQ would close the connection and log a refusal
        // (`fleetctl audit` as zephyr finds such messages).
        if settings.username != adminUser,
            (try? await hub.subscribeAndSettle(names.flatMap { otherTopics($0, settings: settings) }, qos: 0)) != nil
        {
            take()
        }
        return found
    }

    /// Whether the broker still holds a status or heartbeat exactly as before the clear.
    static func kept(_ after: [String: [UInt8]], before: [String: [UInt8]], names: [HatchlingName], settings: ConnectionSettings) -> Bool {
        names.contains { name in
            clearedTopics(name, settings: settings).contains { topic in after[topic] != nil && after[topic] == before[topic] }
        }
    }

    /// The report when something blocks the clear (without --force): nothing was published.
    static func refused(_ checks: [ForgetCheck], settings: ConnectionSettings) -> ForgetReport {
        let outcomes = checks.map { check in
            check.blocker == nil
                ? check.outcome(.notAttempted, "not cleared: another name was refused (all or nothing)")
                : check.outcome(check.blocker!, check.refusalText)
        }
        var note = "nothing was cleared: without --force, forget clears only hatchlings that hold retained messages and are not online."
        if checks.contains(where: { $0.blocker == .refusedOnline }) {
            note +=
                " Stop the container first: a running agent announces itself again on every connect and sends a heartbeat every interval,"
                + " so forgetting it lasts only until then."
        }
        return ForgetReport(forced: false, hatchlings: outcomes, note: note, exitStatus: 1)
    }

    /// The outcome of each name once the clear was sent and `after` was read. `refusal`: how the
    /// broker refused the clear as not authorised (its ACL); `failure`: how it failed otherwise.
    public static func settle(
        _ checks: [ForgetCheck], before: [String: [UInt8]], after: [String: [UInt8]], force: Bool, refusal: String?,
        failure: String? = nil, settings: ConnectionSettings
    ) -> ForgetReport {
        var outcomes: [ForgetOutcome] = []
        for check in checks {
            let cleared = clearedTopics(check.name, settings: settings)
            let remaining = cleared.filter { after[$0] != nil }
            let other = otherTopics(check.name, settings: settings).filter { after[$0] != nil }
            let unchanged = remaining.filter { after[$0] == before[$0] }
            if !unchanged.isEmpty, refusal == nil, let failure {
                // Not the ACL: the clear never got its answer. Say what happened, not what to grant.
                outcomes.append(
                    check.outcome(
                        .failed, "not cleared: " + unchanged.map(leaf).joined(separator: " and ") + " still retained; the clear failed: \(failure)",
                        remaining: remaining, other: other))
            } else if !unchanged.isEmpty {
                outcomes.append(
                    check.outcome(
                        .kept, "the broker kept " + remaining.map(leaf).joined(separator: " and ") + ": it did not let this user clear it",
                        remaining: remaining, other: other))
            } else if !remaining.isEmpty {
                outcomes.append(
                    check.outcome(
                        .republished,
                        "cleared, but its agent published its " + remaining.map(leaf).joined(separator: " and ")
                            + " again at once: it is still running (stop its container, then forget it)",
                        remaining: remaining, other: other))
            } else if check.summary == nil {
                outcomes.append(check.outcome(.nothingRetained, "nothing was retained for it; none is now", other: other))
            } else if check.blocker == .refusedOnline {
                // Only with --force. Its agent, if it runs, puts them back: the status at its next
                // connect, the heartbeat at its next interval.
                outcomes.append(
                    check.outcome(
                        .forgottenWhileOnline,
                        "forgotten while online (--force): status and heartbeat cleared; if its agent runs, it announces itself again at its "
                            + "next connect, and send --all skips it until then", other: other))
            } else {
                let had = cleared.filter { before[$0] != nil }.map(leaf)
                let what = had.isEmpty ? "nothing readable was retained" : had.joined(separator: " and ") + " cleared"
                outcomes.append(check.outcome(.forgotten, "forgotten: \(what); a fresh subscription gets none", other: other))
            }
        }
        var notes: [String] = []
        var status: Int32 = 0
        if outcomes.contains(where: { $0.result == .kept }) {
            status = 3
            notes.append(
                (refusal.map { $0 + ", and kept the retained messages: " } ?? "the broker acknowledged the clear but kept the retained messages: ")
                    + aclAdvice(settings))
        }
        if outcomes.contains(where: { $0.result == .failed }), let failure {
            status = 3
            notes.append(
                "the clear did not go through (\(failure)); nothing says the ACL refused it. Check the broker and run forget again "
                    + "(with --force if some names were cleared already).")
        }
        if outcomes.contains(where: { $0.result == .forgottenWhileOnline }) {
            notes.append(
                "forced while online: an agent that still runs announces itself again at its next connect (status) and next heartbeat; "
                    + "until it reconnects, send --all skips it (no retained status says online). Stop its container to retire it for good.")
        }
        if outcomes.contains(where: { $0.result == .republished }) {
            if !force { status = max(status, 1) }
            notes.append("a hatchling still running announces itself again: stop its container, then run forget again.")
        }
        let others = outcomes.flatMap(\.otherRetained)
        if !others.isEmpty {
            notes.append(
                "also retained, and left alone: \(others.joined(separator: ", ")). The contract never retains commands, responses or "
                    + "events (a client that bypassed its agent did; fleetctl audit flags it); forget clears the status and heartbeat only.")
        }
        return ForgetReport(forced: force, hatchlings: outcomes, note: notes.isEmpty ? nil : notes.joined(separator: "\n"), exitStatus: status)
    }

    /// What to do when the broker kept what this user cleared: the ACL, and the user made for it.
    static func aclAdvice(_ settings: ConnectionSettings) -> String {
        let root = settings.topicRoot
        let grants = "`topic write \(root)/+/status` and `topic write \(root)/+/heartbeat`"
        guard settings.username == adminUser else {
            let user = settings.username.map { "'\($0)'" } ?? "(anonymous)"
            return "its ACL does not let the user \(user) write \(root)/+/status and \(root)/+/heartbeat. "
                + "Run forget as the hub's admin user, which may: MQTT_USERNAME=\(adminUser) "
                + "MQTT_PASSWORD_FILE=<secrets>/\(adminUser)/mqtt-password (mosquitto: template/mosquitto/add-hub.sh --admin makes it, "
                + "on the hub listener, and template/mosquitto/acl gives it \(grants); RabbitMQ: template/rabbitmq/add-hatchling.sh --admin). "
                + "The everyday hub user (zephyr in the template) may not: its password is wherever the exporter or watch runs."
        }
        return "its ACL does not let \(adminUser) write \(root)/+/status and \(root)/+/heartbeat. "
            + "mosquitto: give it \(grants) under `user \(adminUser)` (template/mosquitto/acl has them) and reload the broker "
            + "(docker compose kill -s HUP mosquitto); RabbitMQ: run template/rabbitmq/add-hatchling.sh --admin again, which sets "
            + "its topic permissions on \(root).<name>.status and .heartbeat."
    }

    /// `status` of `fleet/mason/status`.
    static func leaf(_ topic: String) -> String {
        topic.split(separator: "/").last.map(String.init) ?? topic
    }
}

extension ForgetReport {
    /// The table people read, a note when there is one, and a closing count.
    public func table() -> String {
        let checksBefore = hatchlings.map { outcome -> String in
            guard let state = outcome.state else { return "-" }
            return state + (outcome.reason.map { " (\($0))" } ?? "")
        }
        let rows = hatchlings.enumerated().map { index, outcome in [outcome.hatchling, checksBefore[index], outcome.detail] }
        var text = rows.isEmpty ? "" : TextTable.render(["HATCHLING", "BEFORE", "RESULT"], rows)
        if let note { text += note + "\n" }
        var counts: [String] = []
        for result in [
            ForgetOutcome.Result.forgotten, .forgottenWhileOnline, .nothingRetained, .republished, .refusedOnline, .refusedUnknown,
            .notAttempted, .kept, .failed,
        ] {
            let count = hatchlings.filter { $0.result == result }.count
            if count > 0 { counts.append("\(count) \(result.rawValue)") }
        }
        text += "forget\(forced ? " --force" : ""): " + counts.joined(separator: ", ") + "\n"
        return text
    }

    /// The report as JSON for scripts (snake_case keys, sorted).
    public func json() throws -> String {
        try FleetJSON.encodePretty(self) + "\n"
    }
}
