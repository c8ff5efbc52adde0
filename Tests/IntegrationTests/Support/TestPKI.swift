import Foundation

/// A throwaway certificate authority made with the `openssl` program at test time: a CA, a broker
/// certificate for 127.0.0.1/localhost, and client certificates whose CN is the MQTT username.
struct TestPKI {
    let directory: URL
    let name: String

    init(name: String = "Test Fleet CA") throws {
        self.directory = try makeTemporaryDirectory(prefix: "pki")
        self.name = name
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", path("ca.key"), "-out", path("ca.crt"), "-days", "2", "-subj", "/CN=\(name)",
        ])
    }

    var caFile: String { path("ca.crt") }

    func path(_ file: String) -> String { directory.appendingPathComponent(file).path }

    /// Issues a certificate; returns (certificate, key) paths.
    @discardableResult
    func issue(_ commonName: String, subjectAltNames: String? = nil) throws -> (cert: String, key: String) {
        let base = commonName.replacingOccurrences(of: " ", with: "_")
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", path("\(base).key"), "-out", path("\(base).csr"), "-subj", "/CN=\(commonName)",
        ])
        var arguments = [
            "x509", "-req", "-in", path("\(base).csr"), "-CA", caFile, "-CAkey", path("ca.key"),
            "-CAcreateserial", "-out", path("\(base).crt"), "-days", "2",
        ]
        if let subjectAltNames {
            try "subjectAltName=\(subjectAltNames)\n".write(toFile: path("\(base).ext"), atomically: true, encoding: .utf8)
            arguments += ["-extfile", path("\(base).ext")]
        }
        try openssl(arguments)
        return (path("\(base).crt"), path("\(base).key"))
    }

    private func openssl(_ arguments: [String]) throws {
        _ = try runProgram(try which("openssl"), arguments)
    }
}
