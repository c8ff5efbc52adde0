import HatchlingSystem

/// Byte-level scanning for the kernel's ASCII files. The parsers work on the file's bytes where the
/// read left them (a stack buffer, see `SystemFiles`), with integer indices and no copies: no
/// `String` is made of a file, no array of its fields, so a heartbeat's collection allocates next
/// to nothing. On Characters, grapheme breaking made a collection cost about 4 times its system
/// calls; on `String.UTF8View` slices the index arithmetic cost 1.2 million instructions per
/// heartbeat; on a copy of each file in an `Array`, with arrays of fields, 174,000 (all measured
/// with callgrind, docs/metrics.md and docs/benchmarks.md). These files are plain ASCII.
///
/// `Bytes` borrows memory: it is valid only inside the closure that gave it, and never stored.
typealias Bytes = Slice<UnsafeRawBufferPointer>

enum ByteScanning {
    /// Runs `body` on the text's UTF-8 bytes (the parsers' `String` entry points).
    static func withBytes<T>(_ text: String, _ body: (Bytes) throws(MetricsParseError) -> T) throws(MetricsParseError) -> T {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(MetricsParseError) -> T in try body(UnsafeRawBufferPointer(buffer)[...]) }
        }
        return try result.get()
    }

    /// The bytes as text, for error messages and the rare figure kept as text.
    @inline(__always)
    static func text(_ bytes: Bytes) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Lines, split on `\n`, empty ones kept so that line numbers stay true (a final `\n` ends
    /// with one empty line, as `split(omittingEmptySubsequences: false)` would). Lazy: a parser that
    /// stops at the line it wants never splits the rest of the file.
    @inline(__always)
    static func lines(_ bytes: Bytes) -> Lines {
        Lines(bytes: bytes)
    }

    struct Lines: Sequence, IteratorProtocol {
        let bytes: Bytes
        private var start: Int
        private var finished = false

        init(bytes: Bytes) {
            self.bytes = bytes
            self.start = bytes.startIndex
        }

        /// The next line; the newline is found with `memchr` (the C library's, vectorised): a
        /// byte-by-byte loop over a slice cost several instructions a byte, and most lines of a
        /// kernel file are passed over whole.
        mutating func next() -> Bytes? {
            guard !finished else { return nil }
            if start < bytes.endIndex, let base = bytes.base.baseAddress,
                let newline = memchr(base + start, 0x0A, bytes.endIndex - start)
            {
                let end = base.distance(to: UnsafeRawPointer(newline))
                defer { start = end + 1 }
                return bytes[start..<end]
            }
            finished = true
            return bytes[start...]
        }
    }

    @inline(__always)
    static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    /// Fields separated by spaces or tabs, one at a time (nothing is allocated).
    @inline(__always)
    static func fields(_ line: Bytes) -> Fields {
        Fields(rest: line)
    }

    struct Fields: Sequence, IteratorProtocol {
        var rest: Bytes

        mutating func next() -> Bytes? {
            var start = rest.startIndex
            while start < rest.endIndex, ByteScanning.isBlank(rest[start]) { start += 1 }
            guard start < rest.endIndex else { return nil }
            var end = start
            while end < rest.endIndex, !ByteScanning.isBlank(rest[end]) { end += 1 }
            let field = rest[start..<end]
            rest = rest[end...]
            return field
        }

        /// Skips `count` fields and gives the next; nil when the line has fewer.
        mutating func field(after count: Int) -> Bytes? {
            for _ in 0..<count where next() == nil { return nil }
            return next()
        }
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

    /// Powers of ten that a `Double` holds exactly.
    private static let powersOfTen: [Double] = (0...15).map { exponent in (0..<exponent).reduce(1.0) { value, _ in value * 10 } }

    /// A decimal number such as `912345.20`. Digits with at most one point and at most 15 digits
    /// are read here: the digits as an integer (exact below 2^53) divided by a power of ten (exact
    /// to 10^22) is one correctly rounded division, so the result is the `Double` nearest the
    /// text, as `Double(String)` gives. Anything else goes to `Double(String)`.
    static func double(_ bytes: Bytes) -> Double? {
        var mantissa: UInt64 = 0
        var digits = 0
        var scale = 0
        var seenPoint = false
        for byte in bytes {
            if byte == 0x2E, !seenPoint {
                seenPoint = true
                continue
            }
            guard byte >= 0x30 && byte <= 0x39, digits < 15 else { return Double(text(bytes)) }
            mantissa = mantissa * 10 + UInt64(byte - 0x30)
            digits += 1
            if seenPoint { scale += 1 }
        }
        guard digits > 0 else { return Double(text(bytes)) }
        return Double(mantissa) / powersOfTen[scale]
    }

    @inline(__always)
    static func hasPrefix(_ line: Bytes, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard line.count >= count else { return false }
        return prefix.withUTF8Buffer { line.starts(with: $0) }
    }

    /// Whether the bytes are exactly `word`.
    @inline(__always)
    static func equals(_ bytes: Bytes, _ word: StaticString) -> Bool {
        word.withUTF8Buffer { bytes.elementsEqual($0) }
    }

    /// The slice without leading and trailing spaces, tabs, carriage returns and newlines.
    static func trimmed(_ bytes: Bytes) -> Bytes {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }
}
