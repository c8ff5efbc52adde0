/// Bounds the warnings that what others publish can cause (malformed events): `burst` lines at
/// once, then one every `interval` seconds. The ones held back are counted and said with the next
/// line that passes, so a flood costs a few lines a second, and none goes unmentioned.
public struct WarningGate: Sendable {
    public let burst: Int
    public let interval: Double
    /// The longest line, in characters: a payload's problems may quote its keys, of any length.
    public let maximumLength: Int
    private var allowance: Double
    private var lastTime: Double?
    /// Warnings held back since the last line that passed.
    public private(set) var heldBack = 0

    public init(burst: Int = 5, interval: Double = 1, maximumLength: Int = 300) {
        self.burst = burst
        self.interval = interval
        self.maximumLength = maximumLength
        allowance = Double(burst)
    }

    /// The line to write for `warning` at `time` (monotonic seconds), cleaned for a terminal and
    /// cut to `maximumLength`; nil when it is held back.
    public mutating func admit(_ warning: String, at time: Double) -> String? {
        if let lastTime { allowance = min(Double(burst), allowance + max(0, time - lastTime) / interval) }
        lastTime = time
        guard allowance >= 1 else {
            heldBack += 1
            return nil
        }
        allowance -= 1
        var line = TerminalText.clean(warning)
        if line.count > maximumLength { line = String(line.prefix(maximumLength)) + "…" }
        if heldBack > 0 { line += " (\(heldBack) more held back)" }
        heldBack = 0
        return line
    }
}
