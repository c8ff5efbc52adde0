@testable import FleetProtocol

extension FleetJSON {
    /// Encodes through `JSONEncoder` with FleetJSON's settings, whatever the type (even one that
    /// writes itself): the reference the payload writers are tested against. Test-only.
    static func encodeWithFoundation<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try makeEncoder().encode(value))
    }
}
