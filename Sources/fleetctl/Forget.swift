import ArgumentParser
import FleetControl
import FleetProtocol

struct Forget: AsyncParsableCommand {
    static let admin = ForgetRunner.adminUser
    static let configuration = CommandConfiguration(
        abstract: "Retire hatchlings: clear their retained status and heartbeat, so the hub stops showing them.",
        discussion: """
              fleetctl forget mason
              fleetctl forget mason rook --json
              fleetctl forget --force ghost

            A stopped hatchling stays on the bus as its last retained status (offline) and, until it expires, \
            its heartbeat: status, watch and the exporter go on showing it. forget publishes an empty retained message (QoS 1) \
            on <root>/NAME/status and <root>/NAME/heartbeat, the only topics a hatchling's messages are retained \
            on (commands, responses and events never are), then subscribes again on a new connection and checks \
            that the broker holds neither: the acknowledgement proves nothing, since mosquitto under MQTT 3.1.1 \
            acknowledges a publish its ACL denied as if it had passed.

            Run it after the hatchling's container is stopped (then remove its broker user: \
            template/mosquitto/remove-hatchling.sh). A running agent announces itself again on every connect \
            and sends a heartbeat every interval, so forgetting it would not last: without --force, forget \
            refuses a hatchling the hub sees online (a fresh heartbeat, or a retained status that still says \
            online), and a name that holds no retained message (a typo, or one forgotten already). It is all or \
            nothing: one refused name and nothing is cleared. --force clears every name anyway; one that was \
            online is reported forgotten-while-online: its agent, if it runs, announces itself again at its \
            next connect, and send --all skips it until then.

            Run it as the hub's admin user, \(admin), not as zephyr: MQTT_USERNAME=\(admin) \
            MQTT_PASSWORD_FILE=<secrets>/\(admin)/mqtt-password (on the hub listener, MQTT_PORT=1884). \
            template/mosquitto/acl lets \(admin) read and write fleet/+/status and fleet/+/heartbeat and \
            nothing else; template/mosquitto/add-hub.sh --admin makes it (RabbitMQ: \
            template/rabbitmq/add-hatchling.sh --admin). Such a user could also write a fake status or \
            heartbeat, so zephyr, whose password the exporter, watch and events hold, may not: as zephyr, \
            forget reports the messages kept (exit 3) and names \(admin). Keep \(admin)'s password off the \
            monitoring host. Other retained messages on the hatchling's topics (a client that broke the \
            contract) are reported and left alone.

            Exit status: 0 forgotten (with --force also: nothing was retained, it was online, or its agent \
            published again at once); 1 refused: a hatchling is online or unknown (nothing was cleared), or, \
            without --force, its agent published again right after the clear (republished: it still runs); \
            2 a usage error (a name that is not a hatchling name); 3 the broker could not be used, kept a \
            retained message (its ACL: run it as \(admin)), or the clear failed for another reason (the \
            error is named).
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: ArgumentHelp("The hatchlings to forget.", valueName: "name"))
    var names: [String] = []

    @Flag(help: "Clear them even if online or unknown (an online agent announces itself again).")
    var force = false

    @Option(help: "Seconds to wait for the broker to drop the retained messages before calling them kept.")
    var timeout: Double = 5

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        guard !names.isEmpty else { throw ValidationError("forget needs at least one NAME") }
        do {
            _ = try Self.hatchlings(names)
        } catch {
            throw ValidationError(error.description)
        }
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be more than 0 and at most 3600 seconds") }
    }

    static func hatchlings(_ names: [String]) throws(FleetctlError) -> [HatchlingName] {
        var hatchlings: [HatchlingName] = []
        for text in names {
            do {
                hatchlings.append(try HatchlingName(validating: text))
            } catch {
                throw .setting(name: "hatchling name '\(text)'", problem: "\(error)")
            }
        }
        return hatchlings
    }

    func run() async throws {
        try await reportingErrors { () async throws(FleetctlError) -> Int32 in
            let report = try await ForgetRunner.run(
                names: try Self.hatchlings(names), force: force, settings: try connection.settings(), timeout: timeout)
            do {
                Terminal.out(json ? try report.json() : report.table())
            } catch {
                throw .io("cannot encode the report: \(error)")
            }
            return report.exitStatus
        }
    }
}
