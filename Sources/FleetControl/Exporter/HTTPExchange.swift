/// The little HTTP the exporter speaks: one GET (or HEAD) per connection, then close.
public enum HTTPExchange {
    /// Requests larger than this (request line and headers) are refused with 431.
    public static let maximumRequestBytes = 8192

    /// What the bytes read so far amount to.
    public enum Parsed: Sendable, Equatable {
        /// The header is not complete yet.
        case incomplete
        /// A request line and complete header.
        case request(method: String, path: String)
        /// Not HTTP/1.x, or too large: answer with this status and close.
        case bad(status: Int)
    }

    /// A response: status, content type and body (Content-Length and Connection: close are added).
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var contentType: String
        public var body: [UInt8]
        public var extraHeaders: [String] = []

        /// A response with a text/plain body unless told otherwise.
        public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8], extraHeaders: [String] = []) {
            self.status = status
            self.contentType = contentType
            self.body = body
            self.extraHeaders = extraHeaders
        }
    }

    /// Looks for the end of the header (an empty line) and reads the request line.
    public static func parse(_ bytes: [UInt8]) -> Parsed {
        guard let end = headerEnd(bytes) else {
            return bytes.count >= maximumRequestBytes ? .bad(status: 431) : .incomplete
        }
        guard end <= maximumRequestBytes else { return .bad(status: 431) }
        let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\r")) ?? bytes.firstIndex(of: UInt8(ascii: "\n")) ?? end
        let parts = bytes[..<lineEnd].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].starts(with: Array("HTTP/1.".utf8)),
            let method = String(validating: parts[0], as: UTF8.self), let target = String(validating: parts[1], as: UTF8.self),
            !method.isEmpty, target.hasPrefix("/")
        else { return .bad(status: 400) }
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? target
        return .request(method: method, path: path)
    }

    /// The index just past the blank line that ends the header, if there is one.
    static func headerEnd(_ bytes: [UInt8]) -> Int? {
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                if bytes[index + 1] == UInt8(ascii: "\n") { return index + 2 }
                if bytes[index + 1] == UInt8(ascii: "\r"), index + 2 < bytes.count, bytes[index + 2] == UInt8(ascii: "\n") {
                    return index + 3
                }
            }
            index += 1
        }
        return nil
    }

    /// Routes a request: GET or HEAD of /metrics is the exposition; any other path is 404;
    /// any other method 405.
    public static func respond(method: String, path: String, metrics: () -> [UInt8]) -> Response {
        guard method == "GET" || method == "HEAD" else {
            return Response(status: 405, body: Array("only GET and HEAD\n".utf8), extraHeaders: ["Allow: GET, HEAD"])
        }
        guard path == "/metrics" else {
            return Response(status: 404, body: Array("not found: the metrics are at /metrics\n".utf8))
        }
        return Response(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics())
    }

    /// The bytes on the wire; HEAD gets the header only.
    public static func serialize(_ response: Response, headOnly: Bool = false) -> [UInt8] {
        header(response) + (headOnly ? [] : response.body)
    }

    /// The status line and header fields, up to and with the blank line.
    public static func header(_ response: Response) -> [UInt8] {
        let reasons = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 431: "Request Header Fields Too Large"]
        var head = "HTTP/1.1 \(response.status) \(reasons[response.status] ?? "Error")\r\n"
        head += "Content-Type: \(response.contentType)\r\nContent-Length: \(response.body.count)\r\nConnection: close\r\n"
        for header in response.extraHeaders { head += header + "\r\n" }
        head += "\r\n"
        return Array(head.utf8)
    }
}
