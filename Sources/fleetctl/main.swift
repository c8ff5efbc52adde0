import ArgumentParser
import FleetControl
import FleetProtocol
import HatchlingSystem

// main.swift runs top-level code, so no @main: the last line starts the command.
struct Fleetctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleetctl",
        abstract: "The hub's tool for the fleet bus: command, watch, follow the events of, export, audit and forget the hatchlings.",
        discussion: """
            Connects to the fleet's mosquitto with the agent's variable names (MQTT_HOST, MQTT_PORT, \
            MQTT_USERNAME, MQTT_PASSWORD or MQTT_PASSWORD_FILE, MQTT_TLS_CA/CERT/KEY, MQTT_TOPIC_ROOT, \
            MQTT_BROADCAST_TOPIC, MQTT_PROTOCOL); the flags override them. Each run uses a fresh client id \
            (fleetctl-<random>) and a clean session.

            LOG_FORMAT=text|logfmt|json (as for the agent) sets the form of fleetctl's own lines on standard \
            error (progress, warnings, errors): text as written for people (the default); logfmt and json one \
            event per line with ts, level, logger, msg and command, for log shippers. Reports on standard \
            output keep their own form (--json where offered).

            Exit status: 0 done; 1 a hatchling answered with an error (send), the audit flagged a message, or \
            forget refused (a hatchling online or unknown) or, without --force, found one published again at \
            once (still running); 2 a hatchling did not answer (send), or a usage or setting error; 3 the broker \
            could not be used (or, for forget, kept a retained message: its ACL, run it as \(ForgetRunner.adminUser); or the \
            clear failed).
            """,
        version: FleetControlVersion.current,
        subcommands: [Send.self, Status.self, Watch.self, Events.self, Exporter.self, Audit.self, Forget.self]
    )

    /// Like ArgumentParser's own main, but a usage error exits with 2 (as the agent's configuration
    /// errors do) instead of 64, so scripts see one code for "this cannot work as asked".
    static func runFromCommandLine() async {
        let logFormat = getenv("LOG_FORMAT").map { String(cString: $0) }
        if FleetctlLog.format(environment: logFormat) == nil {
            Terminal.write(fd: 2, Array("fleetctl: LOG_FORMAT must be one of text, logfmt, json\n".utf8))
            Glibc.exit(2)
        }
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
