/// Reads a command's JSON object in one pass over its bytes, for `CommandParser`.
///
/// `JSONDecoder` was a third of the instructions of one command once the responses no longer went
/// through `JSONEncoder`. This scanner checks the whole payload against RFC 8259 (strings, escapes
/// and surrogate pairs, numbers, literals, nesting up to 512 levels, nothing after the object) and
/// keeps only the top-level fields a command uses.
///
/// It is stricter than `JSONDecoder`, which accepts trailing commas, numbers such as `01` or `1.`
/// in fields it never reads, and a duplicated key (the first one counts); it checks a string's
/// escapes only when it reads the string. The scanner refuses all of these as not JSON, and refuses
/// a command field given twice. Whatever it accepts, `JSONDecoder` accepts with the same fields:
/// the tests and the fuzzer (`scripts/fuzz.sh`) check that on every input (hence `package`).
package struct EnvelopeScanner {
    /// `JSONDecoder`'s own nesting limit.
    static let maximumDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var envelope = CommandParser.Envelope()
    /// When set, the top level's keys and the byte ranges of their values (`JSONScan.fields`),
    /// instead of a command's fields.
    private var fieldRanges: [(key: String, range: Range<Int>)]? = nil
    /// When set, every string of the document, keys too, with its escapes resolved (`JSONScan.strings`).
    private var strings: [String]? = nil
    /// With `strings`: the values alone (no keys), in order.
    private var values: [String] = []
    /// Nesting allowed (objects and arrays); an event's data is held to less than a command.
    private var depthLimit = EnvelopeScanner.maximumDepth
    /// Refuses a key given twice in any object, not only a command's fields (`JSONScan.strictStrings`).
    private var uniqueKeys = false

    /// The fields, or nil when the payload is not exactly one valid JSON object.
    package static func scan(_ payload: [UInt8]) -> CommandParser.Envelope? {
        payload.withUnsafeBufferPointer { buffer in
            var scanner = EnvelopeScanner(bytes: buffer)
            return scanner.document() ? scanner.envelope : nil
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Each top-level key with the byte range of its value; nil when `payload` is not exactly one
    /// valid JSON object or a key appears twice.
    static func fields(_ payload: UnsafeBufferPointer<UInt8>) -> [(key: String, range: Range<Int>)]? {
        var scanner = EnvelopeScanner(bytes: payload)
        scanner.fieldRanges = []
        guard scanner.document() else { return nil }
        return scanner.fieldRanges
    }

    /// Every string of the object in `payload` (keys and values), decoded; nil when `payload` is
    /// not exactly one valid JSON object. `strict`: also nil for a key given twice in any object,
    /// or nesting deeper than `depth`.
    static func strings(_ payload: UnsafeBufferPointer<UInt8>, strict: Bool = false, depth: Int = maximumDepth) -> [String]? {
        scanStrings(payload, strict: strict, depth: depth)?.all
    }

    /// Every string (keys and values) and the values alone, as `strings`.
    static func scanStrings(_ payload: UnsafeBufferPointer<UInt8>, strict: Bool, depth: Int) -> (all: [String], values: [String])? {
        var scanner = EnvelopeScanner(bytes: payload)
        scanner.strings = []
        scanner.uniqueKeys = strict
        scanner.depthLimit = min(depth, maximumDepth)
        guard scanner.document(), let all = scanner.strings else { return nil }
        return (all, scanner.values)
    }

    private mutating func document() -> Bool {
        skipWhitespace()
        guard peek == UInt8(ascii: "{"), object(depth: 1, topLevel: true) else { return false }
        skipWhitespace()
        return index == bytes.count
    }

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int) -> Bool {
        guard let byte = peek else { return false }
        switch byte {
        case UInt8(ascii: "{"): return object(depth: depth + 1, topLevel: false)
        case UInt8(ascii: "["): return array(depth: depth + 1)
        case UInt8(ascii: "\""):
            guard strings != nil else { return string(keep: false) != nil }
            guard let text = string(keep: true) else { return false }
            strings?.append(text)
            values.append(text)
            return true
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return number()
        }
    }

    private mutating func object(depth: Int, topLevel: Bool) -> Bool {
        guard depth <= depthLimit else { return false }
        index += 1  // {
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            index += 1
            return true
        }
        var keys: Set<String> = []
        while true {
            guard peek == UInt8(ascii: "\""), let key = string(keep: true) else { return false }
            if uniqueKeys {
                guard keys.insert(key).inserted else { return false }
            }
            strings?.append(key)
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { return false }
            index += 1
            skipWhitespace()
            if topLevel, fieldRanges != nil {
                guard keys.insert(key).inserted else { return false }
                let start = index
                guard value(depth: depth) else { return false }
                fieldRanges?.append((key, start..<index))
            } else if topLevel, strings == nil, let field = Self.field(for: key) {
                // A field given twice is refused: which one counts would depend on the reader.
                guard envelope[field] == .absent else { return false }
                if peek == UInt8(ascii: "\"") {
                    guard let text = string(keep: true) else { return false }
                    envelope[field] = .string(text)
                } else {
                    guard value(depth: depth) else { return false }
                    envelope[field] = .other
                }
            } else {
                guard value(depth: depth) else { return false }
            }
            skipWhitespace()
            guard let next = peek else { return false }
            index += 1
            if next == UInt8(ascii: "}") { return true }
            guard next == UInt8(ascii: ",") else { return false }
            skipWhitespace()
        }
    }

    private mutating func array(depth: Int) -> Bool {
        guard depth <= depthLimit else { return false }
        index += 1  // [
        skipWhitespace()
        if peek == UInt8(ascii: "]") {
            index += 1
            return true
        }
        while true {
            guard value(depth: depth) else { return false }
            skipWhitespace()
            guard let next = peek else { return false }
            index += 1
            if next == UInt8(ascii: "]") { return true }
            guard next == UInt8(ascii: ",") else { return false }
            skipWhitespace()
        }
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
        index += count
        return true
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func number() -> Bool {
        if peek == UInt8(ascii: "-") { index += 1 }
        guard let first = peek, Self.isDigit(first) else { return false }
        index += 1
        if first != UInt8(ascii: "0") {
            while let byte = peek, Self.isDigit(byte) { index += 1 }
        }
        if peek == UInt8(ascii: ".") {
            index += 1
            guard let byte = peek, Self.isDigit(byte) else { return false }
            while let byte = peek, Self.isDigit(byte) { index += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard let byte = peek, Self.isDigit(byte) else { return false }
            while let byte = peek, Self.isDigit(byte) { index += 1 }
        }
        return true
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Reads a string at `"`. With `keep`, returns its text (escapes resolved); otherwise only
    /// checks it and returns an empty string. Nil when it is not a valid JSON string.
    private mutating func string(keep: Bool) -> String? {
        index += 1  // "
        let start = index
        // The common case: no escape, so the text is the bytes as they are (already valid UTF-8).
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return keep ? String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index - 1]), as: UTF8.self) : ""
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { return nil }
            index += 1
        }
        guard index < bytes.count else { return nil }
        var text: [UInt8] = keep ? Array(UnsafeBufferPointer(rebasing: bytes[start..<index])) : []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return keep ? String(decoding: text, as: UTF8.self) : ""
            case UInt8(ascii: "\\"):
                guard let escaped = peek else { return nil }
                index += 1
                let resolved: UInt8
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): resolved = escaped
                case UInt8(ascii: "b"): resolved = 0x08
                case UInt8(ascii: "f"): resolved = 0x0C
                case UInt8(ascii: "n"): resolved = 0x0A
                case UInt8(ascii: "r"): resolved = 0x0D
                case UInt8(ascii: "t"): resolved = 0x09
                case UInt8(ascii: "u"):
                    guard let scalar = unicodeEscape() else { return nil }
                    if keep { text.append(contentsOf: String(Character(scalar)).utf8) }
                    continue
                default:
                    return nil
                }
                if keep { text.append(resolved) }
            default:
                if byte < 0x20 { return nil }
                if keep { text.append(byte) }
            }
        }
        return nil
    }

    /// After `\u`: four hex digits, and a second `\uXXXX` for a surrogate pair. Nil for a lone
    /// surrogate or bad digits, as `JSONDecoder` refuses them.
    private mutating func unicodeEscape() -> Unicode.Scalar? {
        guard let high = hex4() else { return nil }
        switch high {
        case 0xD800...0xDBFF:
            guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else { return nil }
            index += 2
            guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
            return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        case 0xDC00...0xDFFF:
            return nil
        default:
            return Unicode.Scalar(high)
        }
    }

    private mutating func hex4() -> UInt32? {
        guard bytes.count - index >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private static func field(for key: String) -> CommandParser.Envelope.Key? {
        switch key {
        case "command": .command
        case "id": .id
        case "ts": .ts
        case "expires_at": .expiresAt
        case "sig": .sig
        default: nil
        }
    }
}
