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

    /// Every string in the object `bytes` (keys and values), escapes resolved; nil when `bytes` is
    /// not exactly one valid JSON object nested at most `depth` levels with no key twice in any object.
    public static func strictStrings(_ bytes: ArraySlice<UInt8>, depth: Int) -> [String]? {
        strictStringsAndValues(bytes, depth: depth)?.all
    }

    /// `strictStrings`, and the values alone (no keys) in order.
    public static func strictStringsAndValues(_ bytes: ArraySlice<UInt8>, depth: Int) -> (all: [String], values: [String])? {
        bytes.withUnsafeBufferPointer { EnvelopeScanner.scanStrings($0, strict: true, depth: depth) }
    }

    /// `bytes` (valid JSON) without the white space between its tokens.
    public static func compacted(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                out.append(byte)
            } else if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
                continue
            } else {
                if byte == UInt8(ascii: "\"") { inString = true }
                out.append(byte)
            }
        }
        return out
    }

    /// The text of a JSON string value, escapes resolved; nil when `bytes` is not one JSON string.
    public static func string(_ bytes: ArraySlice<UInt8>) -> String? {
        guard bytes.first == UInt8(ascii: "\""), bytes.count >= 2, bytes.last == UInt8(ascii: "\"") else { return nil }
        // The common case, no escape and no control character: the bytes are the text (if UTF-8).
        let inner = bytes.dropFirst().dropLast()
        if !inner.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 < 0x20 }) {
            return String(validating: inner, as: UTF8.self)
        }
        let wrapped = Array("{\"s\":".utf8) + bytes + [UInt8(ascii: "}")]
        guard let all = strings(wrapped[...]), all.count == 2 else { return nil }
        return all[1]
    }
}
