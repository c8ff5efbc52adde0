/// The whole command vocabulary. Nothing outside it is ever executed.
public enum FleetCommand: String, Sendable, CaseIterable, Codable {
    case healthCheck = "health-check"
    case versionReport = "version-report"
    case configReload = "config-reload"
    case statusReport = "status-report"
}

/// Error codes of a failed command (`error.code`).
public enum FleetErrorCode: String, Sendable, Codable, CaseIterable {
    case malformed
    case unknownCommand = "unknown-command"
    case tooLarge = "too-large"
    case rateLimited = "rate-limited"
    case expired
    case reloadFailed = "reload-failed"
    case unauthorized
    case `internal`
}

/// The `error` object of a failed command.
public struct FleetErrorBody: Error, Sendable, Equatable, Codable {
    public var code: FleetErrorCode
    public var message: String

    public init(code: FleetErrorCode, message: String) {
        self.code = code
        self.message = message
    }
}
