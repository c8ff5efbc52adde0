import FleetProtocol
import FoundationEssentials
import HatchlingSystem
import MosquittoClient

/// What one `send` asks: a command, for whom, signed or not, and how long to wait.
public struct SendOptions: Sendable {
    /// Named hatchlings, or every hatchling whose retained status is online.
    public enum Targets: Sendable, Equatable {
        case names([HatchlingName])
        case all
    }

    public var command: FleetCommand
    public var targets: Targets
    public var signer: CommandSigner
    /// Seconds to wait for the answers.
    public var timeout: Double

    public init(command: FleetCommand, targets: Targets, signer: CommandSigner = CommandSigner(keys: nil), timeout: Double = 5) {
        self.command = command
        self.targets = targets
        self.signer = signer
        self.timeout = timeout
    }

    /// Reads `NAME... COMMAND` (or `--all COMMAND`): the command word is checked first, so a word
    /// outside the vocabulary is refused before anything else is looked at or sent.
    public static func parse(words: [String], all: Bool) throws(FleetctlError) -> (FleetCommand, Targets) {
        guard let word = words.last else {
            throw .setting(name: "send", problem: "needs NAME... COMMAND, or --all COMMAND")
        }
        let command = try FleetCommandVocabulary.command(word)
        let names = words.dropLast()
        if all {
            guard names.isEmpty else {
                throw .setting(name: "--all", problem: "takes only the COMMAND; drop the names or drop --all")
            }
            return (command, .all)
        }
        guard !names.isEmpty else {
            throw .setting(name: "send", problem: "names no hatchling: give NAME... before the command, or --all")
        }
        var unique: [HatchlingName] = []
        for text in names {
            let name: HatchlingName
            do {
                name = try HatchlingName(validating: text)
            } catch {
                throw .setting(name: "hatchling name '\(text)'", problem: error.description)
            }
            if !unique.contains(name) { unique.append(name) }
        }
        return (command, .names(unique))
    }
}

/// Runs one `send`: connect, find the targets, publish, collect the answers until all expected
/// hatchlings answered or the timeout passed.
public enum SendRunner {
    public static func run(
        _ options: SendOptions, settings: ConnectionSettings, log: FleetctlLog = .standardError
    ) async throws(FleetctlError) -> SendReport {
        var signer = options.signer
        if case .names(let names) = options.targets { try signer.loadKeys(for: names) }
        let hub = try await HubConnection.connect(settings)
        defer { hub.close() }
        try await hub.subscribe(["\(settings.topicRoot)/+/response"], qos: 1)

        let expected: [HatchlingName]
        switch options.targets {
        case .names(let names):
            expected = names
        case .all:
            try await hub.subscribeAndSettle(["\(settings.topicRoot)/+/status"], qos: 0)
            var online = onlineNames(in: hub.drain(), root: settings.topicRoot)
            // A broker that keeps retained messages for exact topics only (RabbitMQ 3.10) sends
            // none to `+`: the hatchlings of the key directory are asked by their own topics.
            if online.isEmpty, case .directory(let directory)? = signer.keys {
                let known = keyDirectoryNames(directory)
                if !known.isEmpty {
                    try await hub.subscribeAndSettle(known.map { settings.topics(for: $0).status }, qos: 0)
                    online = onlineNames(in: hub.drain(), root: settings.topicRoot)
                }
            }
            expected = online
            if expected.isEmpty {
                return SendReport(
                    command: options.command.rawValue, signed: signer.signs, expected: [], answers: [], missing: [],
                    note: "no hatchling's retained status is online under \(settings.topicRoot)/+/status; nothing was sent. "
                        + "(A broker that keeps retained messages for exact topics only, such as RabbitMQ 3.10, sends none "
                        + "to a wildcard: name the hatchlings, or sign with --key-dir, whose <name>.key files name them.)")
            }
            try signer.loadKeys(for: expected)
        }
        signer.warnings.forEach(log.warning)

        // One request per hatchling; an unsigned --all is one request on the broadcast topic.
        let batch = RandomID.hex(6)
        var requests: [(topic: String, id: String, name: HatchlingName?)] = []
        if options.targets == .all && !signer.signs {
            requests = [(settings.broadcastTopic, "fc-\(batch)-1", nil)]
        } else {
            for (index, name) in expected.enumerated() {
                requests.append((settings.topics(for: name).command, "fc-\(batch)-\(index + 1)", name))
            }
        }
        var tally = SendTally(
            command: options.command, expected: expected, root: settings.topicRoot,
            requests: Dictionary(uniqueKeysWithValues: requests.map { ($0.id, $0.name) }), startedAt: Monotonic.seconds())
        let now = FleetTimestamp.now()
        let expiry = signer.expiresIn.map { UInt32(max(1, $0.rounded(.up))) }
        for request in requests {
            let payload: [UInt8]
            do {
                payload = try signer.payload(command: options.command, id: request.id, for: request.name, now: now)
            } catch {
                throw .io("cannot encode the command: \(error)")
            }
            let properties = MQTTPublishProperties(messageExpiryInterval: expiry, correlationData: Array(request.id.utf8))
            try await hub.publish(request.topic, payload, qos: 1, properties: properties)
        }

        let deadline = Monotonic.seconds() + options.timeout
        while !tally.isComplete {
            let remaining = deadline - Monotonic.seconds()
            guard remaining > 0 else { break }
            guard let message = await hub.next(timeout: remaining) else {
                if let ended = hub.ended { log.warning("fleetctl: \(ended)") }
                if hub.ended != nil { break }
                continue
            }
            tally.accept(message, at: Monotonic.seconds())
        }
        // Whatever else has arrived by now (a broadcast reaching others) is shown too.
        for message in hub.drain() { tally.accept(message, at: Monotonic.seconds()) }
        return tally.report(signed: signer.signs)
    }

    /// The hatchlings a key directory has keys for (`<name>.key`, valid names only), sorted.
    static func keyDirectoryNames(_ directory: String) -> [HatchlingName] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return entries.compactMap { entry -> HatchlingName? in
            guard entry.hasSuffix(".key") else { return nil }
            return try? HatchlingName(validating: String(entry.dropLast(4)))
        }.sorted { $0.rawValue < $1.rawValue }
    }

    /// Hatchlings whose retained status says online, sorted by name.
    static func onlineNames(in messages: [MQTTMessage], root: String) -> [HatchlingName] {
        var online: Set<HatchlingName> = []
        for message in messages {
            guard let (name, leaf) = FleetTopics.hatchlingName(inTopic: message.topic, root: root), leaf == "status",
                let hatchling = try? HatchlingName(validating: name)
            else { continue }
            if (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.state == .online {
                online.insert(hatchling)
            } else {
                online.remove(hatchling)
            }
        }
        return online.sorted { $0.rawValue < $1.rawValue }
    }
}
