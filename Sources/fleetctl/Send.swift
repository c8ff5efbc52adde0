import ArgumentParser
import FleetControl
import FleetProtocol

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a command to named hatchlings, or to every online one, and wait for the answers.",
        discussion: """
              fleetctl send mason rook health-check
              fleetctl send --all version-report --json
              fleetctl send --key-dir /etc/fleet/keys --expires-in 60 mason config-reload

            Commands: \(FleetCommandVocabulary.words.joined(separator: ", ")). Each request has its own id \
            (also sent as MQTT 5 correlation data). With --all the expected hatchlings are those whose retained \
            status is online; others that answer the broadcast are shown too.

            Exit status: 0 all answered ok, 1 some answered with an error, 2 some did not answer within \
            --timeout (or none was online), or a usage error; 3 the broker could not be used.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Flag(help: "Send to every hatchling whose retained status is online (the broadcast topic, or one signed request each).")
    var all = false

    @Argument(help: ArgumentHelp("Hatchling names, then the command word.", valueName: "name... command"))
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
