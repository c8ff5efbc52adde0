/// Byte-level scanning for the kernel's ASCII files. The parsers work on UTF-8 bytes rather than
/// Characters: grapheme breaking made a collection cost about 4 times its system calls
/// (measured with callgrind, see docs/metrics.md), and these files are plain ASCII.
typealias Bytes = Substring.UTF8View

enum ByteScanning {
    /// Lines, split on `\n`, empty ones kept so that line numbers stay true.
    @inline(__always)
    static func lines(_ text: String) -> [Bytes] {
        Substring(text).utf8.split(separator: 0x0A, omittingEmptySubsequences: false)
    }

    /// Fields separated by spaces or tabs.
    @inline(__always)
    static func fields(_ line: Bytes) -> [Bytes] {
        line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 })
    }

    /// A decimal unsigned integer, the whole slice; nil on anything else or on overflow.
    @inline(__always)
    static func unsigned(_ bytes: Bytes) -> UInt64? {
        guard !bytes.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - 0x30))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }

    /// A decimal number such as `912345.20`.
    @inline(__always)
    static func double(_ bytes: Bytes) -> Double? {
        Double(Substring(bytes))
    }

    @inline(__always)
    static func hasPrefix(_ line: Bytes, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard line.count >= count else { return false }
        return prefix.withUTF8Buffer { line.starts(with: $0) }
    }

    /// The slice without leading and trailing spaces, tabs, carriage returns and newlines.
    static func trimmed(_ bytes: Bytes) -> Bytes {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let start = bytes.firstIndex(where: { !isSpace($0) }), let end = bytes.lastIndex(where: { !isSpace($0) }) else {
            return bytes[bytes.endIndex...]
        }
        return bytes[start...end]
    }
}
