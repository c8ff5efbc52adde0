import FleetProtocol

/// The configuration file: lines of `KEY=VALUE` like an env file.
///
/// Blank lines and `#` comments are skipped; `export ` before a key is allowed; a value may be
/// wrapped in single or double quotes. An unknown key is an error, so a typo cannot silently leave
/// a setting at its default.
public enum ConfigFile {
    /// A value and the line it came from.
    public struct Entry: Sendable, Equatable {
        public var value: String
        public var line: Int
    }

    /// Parses the file's text.
    public static func parse(_ text: String, path: String) throws(ConfigurationError) -> [SettingKey: Entry] {
        var entries: [SettingKey: Entry] = [:]
        // isNewline also matches "\r\n" (one Character), so files saved with CR LF parse alike.
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            var line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst(7).trimmingWhitespace() }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigurationError(key: "config file", rule: "line must be KEY=VALUE", source: "\(path):\(number)")
            }
            let name = String(line[..<equals].trimmingWhitespace())
            guard let key = SettingKey(rawValue: name), key != .configFile else {
                // Shown (on standard error and in logs, never on the bus) only when it looks like a
                // setting name, a typo such as MQTT_HSOT: a line holding a pasted secret is not echoed.
                let shown = Self.looksLikeSettingName(name) ? name : "(not a setting name)"
                throw ConfigurationError(key: shown, rule: "is not a setting of hatchling-agent", source: "\(path):\(number)", keyFromFile: true)
            }
            var value = line[line.index(after: equals)...].trimmingWhitespace()
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = value.dropFirst().dropLast()
            }
            entries[key] = Entry(value: String(value), line: number)
        }
        return entries
    }

    /// `[A-Z][A-Z0-9_]*`, at most 64 bytes.
    static func looksLikeSettingName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 64, first >= 0x41, first <= 0x5A else { return false }
        return bytes.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") }
    }
}
