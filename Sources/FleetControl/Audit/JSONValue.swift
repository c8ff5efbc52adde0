import FoundationEssentials

/// Any JSON value, to look at a payload's keys as sent (the typed payloads ignore unknown keys).
public indirect enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: AnyKey.self) {
            var object: [String: JSONValue] = [:]
            for key in container.allKeys { object[key.stringValue] = try container.decode(JSONValue.self, forKey: key) }
            self = .object(object)
            return
        }
        if var container = try? decoder.unkeyedContainer() {
            var array: [JSONValue] = []
            while !container.isAtEnd { array.append(try container.decode(JSONValue.self)) }
            self = .array(array)
            return
        }
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    /// Parses bytes as JSON (keys exactly as written); nil when they are not JSON.
    public static func parse(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// The value of `key` when this is an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// Keys present here (with a non-null value) that `known` does not have, as dotted paths.
    /// `known` is the payload decoded into its type and encoded again: it has every key the
    /// type knows, so what is left over is outside the schema.
    public func keys(notIn known: JSONValue, path: String = "") -> [String] {
        switch (self, known) {
        case (.object(let mine), .object(let theirs)):
            return mine.keys.sorted().flatMap { key -> [String] in
                let child = path.isEmpty ? key : path + "." + key
                guard let value = mine[key] else { return [] }
                guard let other = theirs[key] else { return value == .null ? [] : [child] }
                return value.keys(notIn: other, path: child)
            }
        case (.array(let mine), .array(let theirs)) where mine.count == theirs.count:
            return zip(mine, theirs).enumerated().flatMap { index, pair in pair.0.keys(notIn: pair.1, path: "\(path)[\(index)]") }
        default:
            return []
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
