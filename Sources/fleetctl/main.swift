import ArgumentParser
import FleetControl
import FleetProtocol

#if canImport(Glibc)
import Glibc
#endif

// main.swift runs top-level code, so no @main: the last line starts the command.
struct Fleetctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleetctl",
        abstract: "The hub's tool for the fleet bus: command, watch, follow the events of, export and audit the hatchlings.",
        discussion: """
            Connects to the fleet's mosquitto with the agent's variable names (MQTT_HOST, MQTT_PORT, \
            MQTT_USERNAME, MQTT_PASSWORD or MQTT_PASSWORD_FILE, MQTT_TLS_CA/CERT/KEY, MQTT_TOPIC_ROOT, \
            MQTT_BROADCAST_TOPIC, MQTT_PROTOCOL); the flags override them. Each run uses a fresh client id \
            (fleetctl-<random>) and a clean session.

            Exit status: 0 done; 1 a hatchling answered with an error (send) or the audit flagged a message; \
            2 a hatchling did not answer (send), or a usage or setting error; 3 the broker could not be used.
            """,
        version: FleetControlVersion.current,
        subcommands: [Send.self, Status.self, Watch.self, Events.self, Exporter.self, Audit.self]
    )

    /// Like ArgumentParser's own main, but a usage error exits with 2 (as the agent's configuration
    /// errors do) instead of 64, so scripts see one code for "this cannot work as asked".
    static func runFromCommandLine() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                Terminal.error(fullMessage(for: error))
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Runs a subcommand's body and turns a FleetctlError into one line on standard error and its exit status.
func reportingErrors(_ body: () async throws(FleetctlError) -> Int32) async throws {
    let status: Int32
    do {
        status = try await body()
    } catch {
        Terminal.error("fleetctl: \(error)")
        throw ExitCode(error.exitStatus)
    }
    if status != 0 { throw ExitCode(status) }
}


await Fleetctl.runFromCommandLine()
