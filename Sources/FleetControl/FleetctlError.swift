import FleetProtocol

/// Everything that stops a fleetctl subcommand, each with a message that says what to do.
///
/// The exit status follows from the kind: a setting or argument that cannot work is a usage error
/// (2, like the agent's configuration errors); a broker that cannot be reached or used is 3.
public enum FleetctlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A setting (flag or environment variable) with a value that cannot work.
    case setting(name: String, problem: String)
    /// A command word outside the vocabulary; nothing was sent.
    case unknownCommand(String)
    /// A key file for signing is missing, unreadable or too short.
    case key(path: String, problem: String)
    /// The broker refused the connection or could not be reached.
    case connection(String)
    /// The broker refused a subscription or publish, or the connection ended while in use.
    case broker(String)
    /// The broker refused a publish as not authorised (MQTT 5 `MQTTReasonCode.notAuthorized`): its ACL.
    case notAuthorised(String)
    /// A local file or socket could not be used.
    case io(String)

    /// The process exit status for this error.
    public var exitStatus: Int32 {
        switch self {
        case .setting, .unknownCommand, .key: 2
        case .connection, .broker, .notAuthorised: 3
        case .io: 2
        }
    }

    public var description: String {
        switch self {
        case .setting(let name, let problem): "\(name) \(problem)"
        case .unknownCommand(let word):
            "'\(word)' is not a fleet command; use one of: "
                + FleetCommandVocabulary.words.joined(separator: ", ") + " (nothing was sent)"
        case .key(let path, let problem): "signing key \(path): \(problem)"
        case .connection(let text): "cannot connect to the broker: \(text)"
        case .broker(let text), .notAuthorised(let text): text
        case .io(let text): text
        }
    }
}

/// The command words, for messages and validation.
public enum FleetCommandVocabulary {
    public static let words = FleetCommand.allCases.map(\.rawValue)

    /// The command for `word`, or a usage error that lists the vocabulary.
    public static func command(_ word: String) throws(FleetctlError) -> FleetCommand {
        guard let command = FleetCommand(rawValue: word) else { throw .unknownCommand(word) }
        return command
    }
}
