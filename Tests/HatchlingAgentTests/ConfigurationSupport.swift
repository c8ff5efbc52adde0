@testable import HatchlingAgent

/// A readable file that exists on every Linux machine: `SafeFile.regularFileProblem` is checked for TLS and
/// password file paths, while their content comes from the injected `readFile`.
let readablePath = "/etc/hostname"

/// A loader over a fixed environment and in-memory files.
func makeLoader(_ environment: [String: String], files: [String: String] = [:]) -> ConfigurationLoader {
    ConfigurationLoader(
        environment: environment,
        readFile: { path in files[path].map { .success(Array($0.utf8)) } ?? .failure(.cannotOpen(errno: 2)) })
}

func load(_ environment: [String: String], files: [String: String] = [:]) throws(ConfigurationError) -> AgentConfiguration {
    try makeLoader(environment, files: files).load().configuration
}

/// The error a load throws; records an issue (and throws) when the load succeeds.
func loadError(_ environment: [String: String], files: [String: String] = [:]) throws -> ConfigurationError {
    let configuration: AgentConfiguration
    do {
        configuration = try load(environment, files: files)
    } catch {
        return error
    }
    throw UnexpectedLoad(configuration: configuration)
}

struct UnexpectedLoad: Error, CustomStringConvertible {
    var configuration: AgentConfiguration
    var description: String { "the configuration loaded, but an error was expected" }
}
