import HatchlingSystem

/// The process environment as a dictionary, read once (no Foundation needed). Shared by the agent
/// and fleetctl (`hatchling-agent` and `fleetctl` read it), which read the same variables.
///
/// Not part of the wire protocol, and not FleetProtocol's public API (`package`: the package's
/// own modules only). It sits here because FleetProtocol is the one module both executables
/// import; it moves to the low-level system module when there is one.
package enum ProcessEnvironment {
    package static func current() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
