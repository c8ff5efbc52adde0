/// Version strings that may go on the bus: short, and only characters that versions use. The
/// agent checks what it sends; the hub checks what it receives (a hatchling may send anything).
public enum VersionText {
    public static func isVersionLike(_ text: String) -> Bool {
        let bytes = text.utf8
        return !bytes.isEmpty && bytes.count <= 64
            && bytes.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":")].contains(byte)
            }
    }

    /// The first version-looking token (`1.2.3`, `v2026.1.5-beta`) in a program's output.
    public static func firstVersion(in output: String) -> String? {
        for token in output.split(whereSeparator: { $0.isWhitespace || $0 == "," || $0 == "(" || $0 == ")" }) {
            var candidate = Substring(token)
            if candidate.hasPrefix("v") || candidate.hasPrefix("V") { candidate = candidate.dropFirst() }
            guard let first = candidate.first, first.isNumber, candidate.contains("."),
                isVersionLike(String(candidate))
            else { continue }
            return String(candidate)
        }
        return nil
    }
}

/// A `boot_id` as the contract gives it: 32 lowercase hex digits.
public func isBootID(_ text: String) -> Bool {
    text.utf8.count == 32 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
}
