/// `HOST:PORT` for the exporter: `127.0.0.1:9464`, `[::1]:9464`, `:9464` (every address).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// Empty for every address.
    public var host: String
    /// 0 lets the kernel pick one.
    public var port: Int

    /// An address as given.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`; the error says what is expected.
    public init(parsing text: String) throws(FleetctlError) {
        let problem = FleetctlError.setting(
            name: "--listen", problem: "must be HOST:PORT, such as 127.0.0.1:9464, [::1]:9464 or :9464 (port 0 picks a free one)")
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else { throw problem }
        var host = String(text[..<colon])
        if host.hasPrefix("[") {
            guard host.hasSuffix("]") else { throw problem }
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw problem
        }
        self.host = host
        self.port = port
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
