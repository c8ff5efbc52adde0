import FleetProtocol
import FleetSigning
import HatchlingSystem
import Logging
import MosquittoClient

/// Builds an `AgentConfiguration` from the environment and, when `HATCHLING_AGENT_CONFIG` names
/// one, the configuration file, which overrides the environment.
public struct ConfigurationLoader: Sendable {
    /// The environment as the process got it (kept, so a reload re-applies it under the new file).
    public var environment: [String: String]
    /// Reads a file's bytes, or says why not (`SafeFile.read`: regular files only, size-capped,
    /// never blocking on a FIFO). Replaceable in tests.
    public var readFile: @Sendable (String) -> Result<[UInt8], FileReadError>
    /// Examines a file that another library reads later (TLS files); nil when it is a readable
    /// regular file. Replaceable in tests.
    public var checkFile: @Sendable (String) -> FileReadError?

    public init(
        environment: [String: String], readFile: @escaping @Sendable (String) -> Result<[UInt8], FileReadError> = { SafeFile.read($0) },
        checkFile: @escaping @Sendable (String) -> FileReadError? = { SafeFile.regularFileProblem($0) }
    ) {
        self.environment = environment
        self.readFile = readFile
        self.checkFile = checkFile
    }

    /// The result of a load: the settings and the SHA-256 of the configuration file, if there is one.
    public struct Loaded: Sendable {
        public var configuration: AgentConfiguration
        public var fileSHA256: String?
    }

    /// Reads, merges and validates everything; the first problem found is thrown.
    public func load() throws(ConfigurationError) -> Loaded {
        var raw: [SettingKey: (value: String, source: String)] = [:]
        for key in SettingKey.allCases {
            if let value = environment[key.rawValue] { raw[key] = (value, "environment") }
        }
        var digest: String? = nil
        if let path = raw[.configFile]?.value, !path.isEmpty {
            let bytes: [UInt8]
            switch readFile(path) {
            case .success(let read): bytes = read
            case .failure(let problem): throw ConfigurationError(.configFile, "names a file that \(problem)", source: path)
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw ConfigurationError(.configFile, "names a file that is not UTF-8 text", source: path)
            }
            for (key, entry) in try ConfigFile.parse(text, path: path) {
                raw[key] = (entry.value, "\(path):\(entry.line)")
            }
            digest = PayloadDigest.sha256Hex(bytes)
        }
        return Loaded(configuration: try build(raw), fileSHA256: digest)
    }

    private func build(_ raw: [SettingKey: (value: String, source: String)]) throws(ConfigurationError) -> AgentConfiguration {
        var sources: [SettingKey: String] = [:]
        /// The value if set and not empty; an empty variable counts as unset, as in the shell scripts.
        func text(_ key: SettingKey) -> String? {
            guard let entry = raw[key], !entry.value.isEmpty else { return nil }
            sources[key] = entry.source
            return entry.value
        }
        func fail(_ key: SettingKey, _ rule: String) -> ConfigurationError {
            ConfigurationError(key, rule, source: raw[key]?.source)
        }
        func integer(_ key: SettingKey, default value: Int, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            guard let text = text(key) else { return value }
            guard let number = Int(text), range.contains(number) else {
                throw fail(key, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        func number(_ key: SettingKey, default value: Double, in range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
            guard let text = text(key) else { return value }
            guard let number = Double(text), number.isFinite, range.contains(number) else {
                throw fail(
                    key, "must be a number from \(AgentConfiguration.format(range.lowerBound)) to \(AgentConfiguration.format(range.upperBound))")
            }
            return number
        }
        func readableFile(_ key: SettingKey) throws(ConfigurationError) -> String? {
            guard let path = text(key) else { return nil }
            if let problem = checkFile(path) { throw fail(key, "names a file that \(problem)") }
            return path
        }
        /// The text of a secret file, without its trailing newline.
        func secret(_ key: SettingKey, at path: String) throws(ConfigurationError) -> String {
            let bytes: [UInt8]
            switch readFile(path) {
            case .success(let read): bytes = read
            case .failure(let problem): throw fail(key, "names a file that \(problem)")
            }
            guard var text = String(validating: bytes, as: UTF8.self) else { throw fail(key, "names a file that is not UTF-8 text") }
            while let last = text.last, last.isNewline { text.removeLast() }  // "\r\n" is one Character
            return text
        }

        guard let nameText = text(.hatchlingName) else { throw fail(.hatchlingName, "is required") }
        let name: HatchlingName
        do {
            name = try HatchlingName(validating: nameText)
        } catch {
            throw fail(.hatchlingName, error.description)
        }

        // The files first, so an unreadable one is reported as such before any rule between
        // settings; then the broker settings, by the parser fleetctl uses too.
        for key in [SettingKey.mqttTLSCA, .mqttTLSCert, .mqttTLSKey] { _ = try readableFile(key) }
        let passwordFile = try readableFile(.mqttPasswordFile)
        var brokerValues: [BrokerSettings.Key: String] = [:]
        for key in BrokerSettings.Key.allCases {
            if let value = text(SettingKey(key)) { brokerValues[key] = value }
        }
        let broker: BrokerSettings
        do {
            broker = try BrokerSettings(brokerValues)
        } catch {
            throw fail(SettingKey(error.key), error.problem)
        }

        // The name is the broker username add-hatchling.sh makes: the id a broker that binds
        // client ids to usernames (the template's, `use_username_as_clientid`) gives it anyway.
        let clientID = text(.mqttClientID) ?? name.rawValue
        guard clientID.utf8.count <= 256, clientID.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else {
            throw fail(.mqttClientID, "must be 1 to 256 bytes without spaces or control characters")
        }

        var topicRoot = FleetTopics.defaultRoot
        if let value = text(.mqttTopicRoot) {
            if let problem = FleetTopics.validateTopic(value) { throw fail(.mqttTopicRoot, problem) }
            topicRoot = value
        }
        var broadcast = FleetTopics.defaultBroadcast
        if let value = text(.mqttBroadcastTopic) {
            if let problem = FleetTopics.validateTopic(value) { throw fail(.mqttBroadcastTopic, problem) }
            broadcast = value
        }

        var effectivePassword = broker.password
        if let passwordFile {
            effectivePassword = try secret(.mqttPasswordFile, at: passwordFile)
            sources[.mqttPassword] = "read from MQTT_PASSWORD_FILE"
        }
        let username = broker.username
        let commandKeyPath = try readableFile(.commandKeyFile)
        var keyText = text(.commandKey)
        if keyText != nil, commandKeyPath != nil {
            throw fail(.commandKeyFile, "cannot be set together with FLEET_COMMAND_KEY; keep one")
        }
        if let commandKeyPath {
            keyText = try secret(.commandKeyFile, at: commandKeyPath)
            sources[.commandKey] = "read from FLEET_COMMAND_KEY_FILE"
        }
        var commandKey: CommandKey? = nil
        if let keyText {
            guard let key = CommandKey(keyText) else {
                throw fail(commandKeyPath != nil ? .commandKeyFile : .commandKey, "must hold a key of at least \(CommandKey.minimumLength) bytes")
            }
            commandKey = key
        }

        guard let url = HTTPURL(text(.gatewayHealthURL) ?? "http://127.0.0.1:18789/health") else {
            throw fail(.gatewayHealthURL, "must be an http://host[:port]/path URL")
        }
        let dataDirectory = text(.dataDirectory) ?? "/home/openclaw/.openclaw"
        guard dataDirectory.hasPrefix("/") else { throw fail(.dataDirectory, "must be an absolute path") }

        let imageVersion = text(.imageVersion)
        if let imageVersion, !VersionText.isVersionLike(imageVersion) {
            throw fail(.imageVersion, "must be 1 to 64 of A-Z a-z 0-9 . _ + - :")
        }
        let openclawVersion = text(.openclawVersion)
        if let openclawVersion, !VersionText.isVersionLike(openclawVersion) {
            throw fail(.openclawVersion, "must be 1 to 64 of A-Z a-z 0-9 . _ + - :")
        }
        let agentSocket = text(.agentSocket) ?? LocalProtocol.defaultSocket
        if let problem = LocalProtocol.socketPathProblem(agentSocket) { throw fail(.agentSocket, problem) }
        let levelText = (text(.logLevel) ?? "info").lowercased()
        guard let logLevel = Logger.Level(rawValue: levelText == "warn" ? "warning" : levelText) else {
            throw fail(.logLevel, "must be one of trace, debug, info, notice, warning, error, critical")
        }

        guard let logFormat = LogFormat(rawValue: (text(.logFormat) ?? "text").lowercased()) else {
            throw fail(.logFormat, "must be one of text, logfmt, json")
        }

        var warnings: [String] = []
        for (key, path) in [(SettingKey.mqttPasswordFile, passwordFile), (.commandKeyFile, commandKeyPath)] {
            if let path, let mode = Self.permissions(of: path), mode & 0o077 != 0 {
                warnings.append(
                    "\(key.rawValue) names a file that other users can read (mode \(String(mode & 0o777, radix: 8))): chmod 600 it")
            }
        }

        if let username, username != name.rawValue {
            warnings.append(
                "MQTT_USERNAME differs from HATCHLING_NAME (\(name.rawValue)): a broker set up like the template (ACL `%u`, "
                    + "use_username_as_clientid) takes the username as this hatchling's name and client id, so it could not use "
                    + "\(topicRoot)/\(name.rawValue)/*; keep them equal")
        }

        var configuration = AgentConfiguration(
            name: name, brokers: broker.brokers, protocolChoice: broker.protocolChoice,
            connectTimeout: broker.connectTimeout, clientID: clientID, keepalive: broker.keepalive,
            topicRoot: topicRoot, broadcastTopic: broadcast, username: username, password: effectivePassword,
            passwordFile: passwordFile, tls: broker.tls,
            reconnectMax: try number(.mqttReconnectMax, default: 30, in: 1...3600),
            commandRateLimit: try number(.commandRateLimit, default: 10, in: 0...100_000),
            commandRateBurst: try integer(.commandRateBurst, default: 20, in: 1...100_000),
            eventRateLimit: try number(.eventRateLimit, default: 60, in: 0...100_000), agentSocket: agentSocket,
            heartbeatInterval: try integer(.heartbeatInterval, default: 30, in: 1...86_400),
            gatewayHealthURL: url, memoryDegradedPercent: try number(.memoryDegradedPercent, default: 90, in: 1...100),
            diskDegradedFreePercent: try number(.diskDegradedFreePercent, default: 5, in: 0...99),
            dataDirectory: dataDirectory, configFile: text(.configFile), commandKey: commandKey, commandKeyFile: commandKeyPath,
            imageVersion: imageVersion, openclawVersion: openclawVersion, logLevel: logLevel,
            sources: sources)
        configuration.warnings = warnings
        configuration.logFormat = logFormat
        return configuration
    }

    /// The permission bits of a file, or nil when it cannot be examined.
    static func permissions(of path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode) & 0o7777
    }

}
