import HatchlingSystem

/// Finds strings that look like credentials: known API-key and token shapes, PEM blocks, and
/// long high-entropy strings. It names the kind, never the value.
///
/// False positives are kept low on purpose: the contract's own hex identifiers (a 32-digit boot
/// id, a 64-digit SHA-256, a 64-digit signature) are pure hex, which the entropy rule skips, and
/// absolute paths are skipped too.
public enum SecretScanner {
    /// Kinds of secret-looking strings in `bytes`, each once, in order of first appearance.
    public static func scan(_ bytes: [UInt8]) -> [String] {
        var found: [String] = []
        func add(_ kind: String) { if !found.contains(kind) { found.append(kind) } }
        if contains(bytes, "-----BEGIN") { add("a PEM block (-----BEGIN)") }
        // Known shapes start at any word start ("token:sk-ant-..." too). Each check looks at most a
        // few word runs ahead, so the scan stays linear in the message: a hatchling's 64 KB of
        // `.a.a.a…` took minutes when every word start looked to the end of its run.
        for index in bytes.indices where isWordByte(bytes[index]) && (index == 0 || !isWordByte(bytes[index - 1])) {
            if let kind = knownShape(bytes[index...]) { add(kind) }
        }
        // The entropy rule looks at whole base64 runs, as the last resort: a message already
        // flagged for a known shape gets no second finding for the same string.
        guard found.isEmpty else { return found }
        var index = 0
        while index < bytes.count {
            guard isBase64Byte(bytes[index]) else {
                index += 1
                continue
            }
            var end = index
            while end < bytes.count, isBase64Byte(bytes[end]) { end += 1 }
            if looksRandom(Array(bytes[index..<end])) { add("a long high-entropy string") }
            index = end
        }
        return found
    }

    /// Kinds of credential in `bytes` whose shape says what they are (API keys and tokens with a
    /// known prefix, a PEM block), each once; unlike `scan`, no guess from entropy. For text made
    /// by joining strings, where a random-looking run may be an accident of the joining.
    public static func credentialShapes(_ bytes: [UInt8]) -> [String] {
        var found: [String] = []
        if contains(bytes, "-----BEGIN") { found.append("a PEM block (-----BEGIN)") }
        for index in bytes.indices where isWordByte(bytes[index]) && (index == 0 || !isWordByte(bytes[index - 1])) {
            if let kind = knownShape(bytes[index...]), !found.contains(kind) { found.append(kind) }
        }
        return found
    }

    /// Prefixed keys and tokens whose shape says what they are, in `rest`: the bytes from a word
    /// start to the end of the message. Every check reads a bounded prefix or whole word runs.
    static func knownShape(_ rest: ArraySlice<UInt8>) -> String? {
        let word = rest.prefix(while: isWordByte)
        func tail(after prefix: String, atLeast count: Int) -> Bool {
            let p = Array(prefix.utf8)
            return word.starts(with: p) && word.count - p.count >= count
        }
        if tail(after: "sk-ant-", atLeast: 20) { return "an Anthropic API key (sk-ant-)" }
        if tail(after: "sk-", atLeast: 20) { return "an API key (sk-)" }
        for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"] where tail(after: prefix, atLeast: 20) {
            return "a GitHub token (\(prefix))"
        }
        for prefix in ["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"] where tail(after: prefix, atLeast: 10) {
            return "a Slack token (\(prefix))"
        }
        for prefix in ["AKIA", "ASIA"] where word.starts(with: Array(prefix.utf8)) {
            let run = word.dropFirst(4).prefix(while: { isDigit($0) || ($0 >= 0x41 && $0 <= 0x5A) })
            if run.count == 16, word.count == 20 { return "an AWS access key id (\(prefix))" }
        }
        // digits (8 to 10), a colon, 35 word characters.
        let digits = word.prefix(while: isDigit)
        if (8...10).contains(digits.count), digits.count == word.count, digits.endIndex < rest.endIndex,
            rest[digits.endIndex] == UInt8(ascii: ":"), rest[(digits.endIndex + 1)...].prefix(while: isWordByte).count >= 35
        {
            return "a bot token (digits:35 characters)"
        }
        // Three base64url parts joined by dots, the first two starting with `eyJ`, each of 10 or more.
        func part(from start: Int) -> ArraySlice<UInt8> { rest[start...].prefix(while: isWordByte) }
        let first = word
        if first.count >= 10, first.starts(with: Array("eyJ".utf8)), first.endIndex < rest.endIndex, rest[first.endIndex] == UInt8(ascii: ".") {
            let second = part(from: first.endIndex + 1)
            if second.count >= 10, second.starts(with: Array("eyJ".utf8)), second.endIndex < rest.endIndex,
                rest[second.endIndex] == UInt8(ascii: ".")
            {
                let third = part(from: second.endIndex + 1)
                if third.count >= 10, third.endIndex == rest.endIndex || rest[third.endIndex] != UInt8(ascii: ".") {
                    return "a JSON Web Token (eyJ…)"
                }
            }
        }
        return nil
    }

    /// At least 32 characters of base64 or base64url with upper case, lower case and digits, not
    /// hex, not a path, and at least 4.3 bits of entropy per character.
    static func looksRandom(_ token: [UInt8]) -> Bool {
        guard token.count >= 32, token.first != UInt8(ascii: "/") else { return false }
        let hex = token.allSatisfy { isDigit($0) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) || $0 == UInt8(ascii: "-") }
        guard !hex, token.contains(where: isDigit), token.contains(where: { $0 >= 0x41 && $0 <= 0x5A }),
            token.contains(where: { $0 >= 0x61 && $0 <= 0x7A })
        else { return false }
        return entropy(token) >= 4.3
    }

    /// Shannon entropy of the byte distribution, in bits per byte.
    static func entropy(_ token: [UInt8]) -> Double {
        var counts = [Int](repeating: 0, count: 256)
        for byte in token { counts[Int(byte)] += 1 }
        let total = Double(token.count)
        return counts.reduce(0.0) { sum, count in
            guard count > 0 else { return sum }
            let p = Double(count) / total
            return sum - p * Glibc.log2(p)
        }
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    static func isWordByte(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }
    static func isBase64Byte(_ b: UInt8) -> Bool {
        isWordByte(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: "/") || b == UInt8(ascii: "=")
    }

    static func contains(_ bytes: [UInt8], _ text: String) -> Bool {
        contains(bytes[...], Array(text.utf8))
    }

    /// Whether `needle` occurs in `haystack` (false for an empty needle).
    static func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return false }
        var index = haystack.startIndex
        while index <= haystack.endIndex - needle.count {
            if haystack[index] == first, haystack[index..<index + needle.count].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}
