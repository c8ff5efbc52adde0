/// Byte-level scanning for the kernel's ASCII files. The parsers work on a contiguous copy of the
/// text's UTF-8 bytes, with integer indices: on Characters, grapheme breaking made a collection
/// cost about 4 times its system calls, and on `String.UTF8View` slices the index arithmetic still
/// cost 1.2 million instructions per heartbeat (both measured with callgrind, docs/metrics.md).
/// These files are plain ASCII.
typealias Bytes = ArraySlice<UInt8>

enum ByteScanning {
    /// The text's bytes, copied once.
    @inline(__always)
    static func bytes(_ text: String) -> Bytes {
        Array(text.utf8)[...]
    }

    /// The bytes as text, for numbers that Swift parses from strings and for error messages.
    @inline(__always)
    static func text(_ bytes: Bytes) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Lines, split on `\n`, empty ones kept so that line numbers stay true (a final `\n` ends
    /// with one empty line, as `split(omittingEmptySubsequences: false)` would). Lazy: a parser that
    /// stops at the line it wants never splits the rest of the file.
    @inline(__always)
    static func lines(_ text: String) -> Lines {
        Lines(bytes: bytes(text))
    }

    struct Lines: Sequence, IteratorProtocol {
        let bytes: Bytes
        private var start: Int
        private var finished = false

        init(bytes: Bytes) {
            self.bytes = bytes
            self.start = bytes.startIndex
        }

        mutating func next() -> Bytes? {
            guard !finished else { return nil }
            if let newline = bytes[start...].firstIndex(of: 0x0A) {
                defer { start = newline + 1 }
                return bytes[start..<newline]
            }
            finished = true
            return bytes[start...]
        }
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
        Double(text(bytes))
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
