import FleetProtocol
import FleetSigning

/// Where the hub's command keys are: one file per hatchling in a directory (`<dir>/<name>.key`,
/// as `template/mosquitto/add-hatchling.sh` writes them), or one file for a single hatchling.
public enum KeySource: Sendable, Equatable {
    case directory(String)
    case file(String)

    /// The key file for `name`.
    public func path(for name: HatchlingName) -> String {
        switch self {
        case .directory(let directory): (directory.hasSuffix("/") ? directory : directory + "/") + name.rawValue + ".key"
        case .file(let path): path
        }
    }
}

/// Loads keys and writes command payloads: signed JSON when a key source is given, plain JSON
/// with an id otherwise.
public struct CommandSigner: Sendable {
    public var keys: KeySource?
    /// Seconds from now after which the command must not run (`expires_at`).
    public var expiresIn: Double?
    /// Warnings for the operator (a key file others can read), printed before sending.
    public private(set) var warnings: [String] = []
    private var loaded: [HatchlingName: CommandKey] = [:]

    public init(keys: KeySource?, expiresIn: Double? = nil) {
        self.keys = keys
        self.expiresIn = expiresIn
    }

    /// Reads the key of every name; throws for the first that is missing or unusable.
    public mutating func loadKeys(
        for names: [HatchlingName], readSecret: (String) -> String? = Files.readSecret,
        readableByOthers: (String) -> Bool = Files.isReadableByOthers
    ) throws(FleetctlError) {
        guard let keys else { return }
        var missing: [String] = []
        for name in names where loaded[name] == nil {
            let path = keys.path(for: name)
            guard let text = readSecret(path) else {
                missing.append(path)
                continue
            }
            guard let key = CommandKey(text) else {
                throw .key(path: path, problem: "is shorter than \(CommandKey.minimumLength) bytes; write the hatchling's FLEET_COMMAND_KEY there")
            }
            if readableByOthers(path) { warnings.append("signing key \(path) can be read by other users: chmod 600 it") }
            loaded[name] = key
        }
        if missing.count == 1 {
            throw .key(path: missing[0], problem: "cannot be read; every hatchling needs its key there (add-hatchling.sh writes it)")
        }
        if missing.count > 1 {
            throw .key(path: missing.joined(separator: ", "), problem: "cannot be read; nothing was sent")
        }
    }

    /// True when commands are signed.
    public var signs: Bool { keys != nil }

    /// The payload of one request. `name` is the hatchling it is for (nil: the broadcast topic,
    /// which cannot be signed, since a signature names one hatchling).
    public func payload(command: FleetCommand, id: String, for name: HatchlingName?, now: FleetTimestamp) throws -> [UInt8] {
        let ts = now.description
        let expiresAt = expiresIn.map { now.adding(seconds: $0).description }
        var envelope = CommandEnvelope(command: command.rawValue, id: id, ts: ts, expiresAt: expiresAt, sig: nil)
        if let name, let key = loaded[name] {
            envelope.sig = CommandSignature.sign(key: key, name: name.rawValue, id: id, command: command.rawValue, ts: ts, expiresAt: expiresAt)
        }
        return try FleetJSON.encode(envelope)
    }
}

/// A command as the hub sends it (`docs/protocol.md`, Commands; `sig` per Signed commands).
struct CommandEnvelope: Encodable {
    var command: String
    var id: String
    var ts: String
    var expiresAt: String?
    var sig: String?
}
