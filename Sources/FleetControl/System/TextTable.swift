/// Left-aligned columns separated by two spaces, for the tables people read.
public enum TextTable {
    /// Renders a header and rows; every line ends with a newline.
    /// Cells are cleaned of control characters (`TerminalText.clean`): most hold what a hatchling
    /// sent, and a terminal must not run the escape sequences a hostile one put there.
    public static func render(_ header: [String], _ rows: [[String]]) -> String {
        let all = ([header] + rows).map { $0.map(TerminalText.clean) }
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        return all.map { row in
            var line = ""
            for (index, cell) in row.enumerated() {
                let last = index == row.count - 1
                line += last ? cell : cell + String(repeating: " ", count: widths[index] - cell.count + 2)
            }
            return line + "\n"
        }.joined()
    }
}

/// Short human forms of figures: bytes, durations, percentages.
public enum Figures {
    /// `512 B`, `3.2 KiB`, `1.5 GiB`.
    public static func bytes(_ value: UInt64?) -> String {
        guard let value else { return "-" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1024, unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : "\(decimal(amount, places: amount < 10 ? 1 : 0)) \(units[unit])"
    }

    /// `0.4s`, `42s`, `3m12s`, `5h03m`, `2d04h`.
    public static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "-" }
        if seconds < 10 { return decimal(max(0, seconds), places: 1) + "s" }
        // Clamped before the conversion: a hatchling's 1e300 must not trap.
        let whole = Int(min(seconds, 1e15).rounded())
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m\(two(whole % 60))s" }
        if whole < 86_400 { return "\(whole / 3600)h\(two(whole / 60 % 60))m" }
        return "\(whole / 86_400)d\(two(whole / 3600 % 24))h"
    }

    /// A fixed number of decimals, without Foundation's formatting.
    public static func decimal(_ value: Double, places: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        guard abs(value) < 1e15 else { return value < 0 ? "-inf" : "inf" }
        let scaled = Int64((abs(value) * scale).rounded())
        let sign = value < 0 && scaled != 0 ? "-" : ""
        guard places > 0 else { return sign + String(scaled) }
        let whole = scaled / Int64(scale)
        var fraction = String(scaled % Int64(scale))
        while fraction.count < places { fraction = "0" + fraction }
        return "\(sign)\(whole).\(fraction)"
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

/// Text for a terminal, from strings a hatchling controls (versions, error messages, names).
public enum TerminalText {
    /// `text` without C0 and C1 control characters (escape sequences, carriage returns, bells) or
    /// DEL; each is replaced by `?`, so nothing disappears silently. `--json` output is not cleaned:
    /// JSON escapes control characters itself, and scripts get the exact text.
    public static func clean(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { out.append(isControl(scalar) ? "?" : scalar) }
        return String(out)
    }

    /// C0, DEL and C1 controls, and the invisible format characters that reorder or hide text on
    /// a terminal: zero-width marks (U+200B-200F), bidirectional embeddings and overrides
    /// (U+202A-202E, U+2066-2069), and the byte order mark (U+FEFF). A hatchling must not be able
    /// to make its row read like another's.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x200B...0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF: true
        default: false
        }
    }
}
