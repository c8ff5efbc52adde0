/// A setting that is missing or does not parse: names the variable and the rule, never the value
/// (values may be secrets, and reload errors travel on the bus).
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var rule: String
    /// Where the bad value came from: `environment`, or the file and line (`/path:3`), or the file.
    public var source: String?
    /// True when `key` itself was read from the file (an unknown setting name): file content.
    public var keyFromFile: Bool

    public init(_ key: SettingKey, _ rule: String, source: String? = nil) {
        self.key = key.rawValue
        self.rule = rule
        self.source = source
        self.keyFromFile = false
    }

    public init(key: String, rule: String, source: String?, keyFromFile: Bool = false) {
        self.key = key
        self.rule = rule
        self.source = source
        self.keyFromFile = keyFromFile
    }

    /// For the operator (standard error, logs): with the file's path.
    public var description: String {
        "\(key) \(rule)" + (source.map { " (\($0))" } ?? "")
    }

    /// For the bus (a `reload-failed` message): no path and nothing read from the file (ADR-005).
    public var publicDescription: String {
        let place: String?
        switch source {
        case nil: place = nil
        case "environment": place = "environment"
        case .some(let text):
            if let colon = text.lastIndex(of: ":"), let line = Int(text[text.index(after: colon)...]) {
                place = "configuration file line \(line)"
            } else {
                place = "configuration file"
            }
        }
        let subject = keyFromFile ? "a setting name" : key
        return "\(subject) \(rule)" + (place.map { " (\($0))" } ?? "")
    }
}
