/// Checks and reads JSON documents that are not commands (the agent's local requests, an event's
/// data) with the command parser's scanner: RFC 8259, nesting up to 512 levels, nothing after the object.
public enum JSONScan {
    /// The nesting limit every JSON document of the fleet is held to (the command parser's).
    public static let maximumDepth = EnvelopeScanner.maximumDepth

    /// Each top-level key with the byte range of its value in `bytes`; nil when `bytes` is not
    /// exactly one valid JSON object, or a key appears twice (which one counts would depend on the reader).
    public static func fields(_ bytes: ArraySlice<UInt8>) -> [(key: String, range: Range<Int>)]? {
        bytes.withUnsafeBufferPointer { buffer in
            EnvelopeScanner.fields(buffer)?.map { ($0.key, ($0.range.lowerBound + bytes.startIndex)..<($0.range.upperBound + bytes.startIndex)) }
        }
    }

    /// Every string in the object `bytes` (keys and values), escapes resolved; nil when `bytes` is
    /// not exactly one valid JSON object.
    public static func strings(_ bytes: ArraySlice<UInt8>) -> [String]? {
        bytes.withUnsafeBufferPointer { EnvelopeScanner.strings($0) }
    }

    /// The text of a JSON string value, escapes resolved; nil when `bytes` is not one JSON string.
    public static func string(_ bytes: ArraySlice<UInt8>) -> String? {
        guard bytes.first == UInt8(ascii: "\"") else { return nil }
        let wrapped = Array("{\"s\":".utf8) + bytes + [UInt8(ascii: "}")]
        guard let all = strings(wrapped[...]), all.count == 2 else { return nil }
        return all[1]
    }
}
