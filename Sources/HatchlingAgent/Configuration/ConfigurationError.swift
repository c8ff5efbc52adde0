/// A setting that is missing or does not parse: names the variable and the rule, never the value
/// (values may be secrets, and reload errors travel on the bus).
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var rule: String
    /// Where the bad value came from: `environment`, or the file and line.
    public var source: String?

    public init(_ key: SettingKey, _ rule: String, source: String? = nil) {
        self.key = key.rawValue
        self.rule = rule
        self.source = source
    }

    public init(key: String, rule: String, source: String?) {
        self.key = key
        self.rule = rule
        self.source = source
    }

    public var description: String {
        "\(key) \(rule)" + (source.map { " (\($0))" } ?? "")
    }
}
