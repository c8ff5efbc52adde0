import ArgumentParser
import FleetControl
import FleetProtocol

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow the hatchlings' events, one line each, until Ctrl-C.",
        discussion: """
              fleetctl events
              fleetctl events mason rook --json | jq -c 'select(.event == "task-done")'

            Subscribes (QoS 1) to every hatchling's event topic, or to the named ones', and prints one line \
            per event: ts, hatchling, event, seq and data, with control and invisible characters shown as '?'. \
            --json prints one JSON object per line instead: boot_id, data (the object as sent), event, \
            hatchling, seq, ts. A message on an event topic that breaks the contract (a retained one too) \
            is never printed as an event: a warning goes to standard error, at most a few a second. A lost \
            connection is made again; events published meanwhile are not shown.

            Exit status: 0 stopped by SIGINT or SIGTERM; 2 a usage error; 3 the broker could not be used.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Only these hatchlings (their own event topics).")
    var names: [String] = []

    @Flag(help: "Print one JSON object per line instead of text.")
    var json = false

    func validate() throws {
        do {
            _ = try EventsRunner.names(names)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        try await reportingErrors { () async throws(FleetctlError) -> Int32 in
            let settings = try connection.settings()
            let stop = StopSignal.watching()
            try await EventsRunner.run(settings: settings, names: try EventsRunner.names(names), json: json, stop: stop)
            return 0
        }
    }
}
