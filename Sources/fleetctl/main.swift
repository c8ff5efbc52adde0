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
        abstract: "The hub's tool for the fleet bus: command, watch, export and audit the hatchlings.",
        discussion: """
            Connects to the fleet's mosquitto with the agent's variable names (MQTT_HOST, MQTT_PORT,
            MQTT_USERNAME, MQTT_PASSWORD or MQTT_PASSWORD_FILE, MQTT_TLS_CA/CERT/KEY, MQTT_TOPIC_ROOT,
            MQTT_BROADCAST_TOPIC, MQTT_PROTOCOL); the flags override them. Each run uses a fresh client id
            (fleetctl-<random>) and a clean session.

            Exit status: 0 done; 1 a hatchling answered with an error (send) or the audit flagged a message;
            2 a hatchling did not answer (send), or a usage or setting error; 3 the broker could not be used.
            """,
        version: FleetControlVersion.current,
        subcommands: [Send.self]
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

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a command to named hatchlings, or to every online one, and wait for the answers.",
        discussion: """
            fleetctl send mason rook health-check
            fleetctl send --all version-report --json
            fleetctl send --key-dir /etc/fleet/keys --expires-in 60 mason config-reload

            Commands: \(FleetCommandVocabulary.words.joined(separator: ", ")). Each request has its own id
            (also sent as MQTT 5 correlation data). With --all the expected hatchlings are those whose retained
            status is online; others that answer the broadcast are shown too. Exit status: 0 all answered ok,
            1 some answered with an error, 2 some did not answer within --timeout (or no one was online).
            """)

    @OptionGroup var connection: ConnectionOptions

    @Flag(help: "Send to every hatchling whose retained status is online (the broadcast topic, or one signed request each).")
    var all = false

    @Argument(help: "Hatchling names, then the command word.")
    var words: [String] = []

    @Option(help: "Seconds to wait for the answers.")
    var timeout: Double = 5

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(name: .customLong("key-dir"), help: "Sign commands with <dir>/<name>.key (default: FLEET_KEY_DIR).")
    var keyDir: String?

    @Option(name: .customLong("key-file"), help: "Sign the command for a single NAME with this key file.")
    var keyFile: String?

    @Option(name: .customLong("expires-in"), help: "Seconds after which the command must not run (expires_at; also the MQTT 5 expiry).")
    var expiresIn: Double?

    func validate() throws {
        do {
            _ = try SendOptions.parse(words: words, all: all)
        } catch {
            throw ValidationError(error.description)
        }
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be more than 0 and at most 3600 seconds") }
        if let expiresIn, !(expiresIn > 0) { throw ValidationError("--expires-in must be more than 0 seconds") }
        if keyFile != nil, keyDir != nil { throw ValidationError("--key-file and --key-dir cannot be used together; keep one") }
        if keyFile != nil, all || words.count != 2 {
            throw ValidationError("--key-file holds one hatchling's key: give exactly one NAME (or use --key-dir)")
        }
    }

    func run() async throws {
        try await reportingErrors { () async throws(FleetctlError) -> Int32 in
            let settings = try connection.settings()
            let (command, targets) = try SendOptions.parse(words: words, all: all)
            var keys: KeySource? = keyFile.map(KeySource.file) ?? keyDir.map(KeySource.directory)
            if keys == nil, let directory = ProcessEnvironment.current()["FLEET_KEY_DIR"], !directory.isEmpty {
                keys = .directory(directory)
            }
            let options = SendOptions(
                command: command, targets: targets, signer: CommandSigner(keys: keys, expiresIn: expiresIn), timeout: timeout)
            let report = try await SendRunner.run(options, settings: settings)
            do {
                Terminal.out(json ? try report.json() : report.table())
            } catch {
                throw .io("cannot encode the report: \(error)")
            }
            return report.exitStatus
        }
    }
}

await Fleetctl.runFromCommandLine()
