import Foundation
import HatchlingSystem
import Testing

/// template/rabbitmq/add-hatchling.sh and setup.sh against a stand-in rabbitmqctl that logs what it
/// is asked (no node needed): the users and permissions they set, at fleet size. The real nodes:
/// RabbitMQTests.
@Suite("RabbitMQ scripts: permissions and large fleets")
struct RabbitMQScriptTests {
    static let path = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    static let addScript = DeploymentTests.template.appendingPathComponent("rabbitmq/add-hatchling.sh").path
    static let setupScript = DeploymentTests.template.appendingPathComponent("rabbitmq/setup.sh").path

    /// A rabbitmqctl that logs every call (one line of arguments) and lists `first` and then 8,000
    /// other users; it reads a password from standard input as the real one does.
    func fakeCtl(_ directory: URL, first: String) throws -> (ctl: URL, calls: URL) {
        let calls = directory.appendingPathComponent("calls.log")
        let fake = directory.appendingPathComponent("rabbitmqctl")
        try """
        #!/bin/sh
        echo "$*" >> '\(calls.path)'
        case "$*" in
          *list_users*) printf '%s\\t[]\\n' '\(first)'; i=1; while [ $i -le 8000 ]; do printf 'hatchling-%d\\t[]\\n' $i; i=$((i+1)); done ;;
          *add_user*|*change_password*) cat > /dev/null ;;
        esac
        exit 0
        """.write(to: fake, atomically: true, encoding: .utf8)
        chmod(fake.path, 0o755)
        return (fake, calls)
    }

    func calls(_ url: URL) -> [String] {
        ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test(
        "a user listed first among 8,000 is found (grep -q under pipefail died of SIGPIPE and called it absent): add-hatchling.sh changes its password, setup.sh deletes guest"
    )
    func largeFleet() async throws {
        let directory = try makeTemporaryDirectory(prefix: "rabbit-scripts")
        let secrets = directory.appendingPathComponent("secrets")
        let (ctl, log) = try fakeCtl(directory, first: "mason")
        let added = try await runProcessOffPool(
            Self.addScript, ["mason", secrets.path], environment: Self.path.merging(["RABBITMQCTL": ctl.path]) { $1 })
        #expect(added.status == 0, "\(added.stdout)\(added.stderr)")
        #expect(calls(log).contains { $0.hasSuffix("change_password mason") } && !calls(log).contains { $0.contains("add_user") }, "\(calls(log))")

        let guestDirectory = try makeTemporaryDirectory(prefix: "rabbit-setup")
        let (guestCtl, guestLog) = try fakeCtl(guestDirectory, first: "guest")
        let setup = try await runProcessOffPool(Self.setupScript, [], environment: Self.path.merging(["RABBITMQCTL": guestCtl.path]) { $1 })
        #expect(setup.status == 0 && setup.stdout.contains("guest user absent"), "\(setup.stdout)\(setup.stderr)")
        #expect(calls(guestLog).contains { $0.hasSuffix("delete_user guest") }, "\(calls(guestLog))")
    }

    @Test(
        "--hub: zephyr writes commands and the broadcast only; --admin: zephyr-admin reads and writes statuses and heartbeats only, on fleetctl's session queues; neither name is a hatchling's"
    )
    func hubAndAdmin() async throws {
        let directory = try makeTemporaryDirectory(prefix: "rabbit-admin")
        let secrets = directory.appendingPathComponent("secrets")
        let (ctl, log) = try fakeCtl(directory, first: "someone")
        let environment = Self.path.merging(["RABBITMQCTL": ctl.path]) { $1 }

        let hub = try await runProcessOffPool(Self.addScript, ["--hub", secrets.path], environment: environment)
        #expect(hub.status == 0, "\(hub.stderr)")
        #expect(
            calls(log).contains(
                #"-q set_topic_permissions -p / zephyr amq.topic ^(fleet\.[^.]+\.command|zephyr\.broadcast)$ ^(fleet\..+|zephyr\.broadcast)$"#),
            "\(calls(log))")
        #expect(hub.stdout.contains("--admin"), "\(hub.stdout)")

        let admin = try await runProcessOffPool(Self.addScript, ["--admin", secrets.path], environment: environment)
        #expect(admin.status == 0, "\(admin.stderr)")
        let lines = calls(log)
        #expect(lines.contains { $0.hasSuffix("add_user zephyr-admin") }, "\(lines)")
        #expect(
            lines.contains(
                #"-q set_topic_permissions -p / zephyr-admin amq.topic ^fleet\.[^.]+\.(status|heartbeat)$ ^fleet\.[^.]+\.(status|heartbeat)$"#),
            "\(lines)")
        let queues = "mqtt-subscription-fleetctl-[0-9a-f]{8}qos[01]"
        #expect(lines.contains("-q set_permissions -p / zephyr-admin ^\(queues)$ ^(\(queues)|amq\\.topic)$ ^(\(queues)|amq\\.topic)$"), "\(lines)")
        let password = try String(contentsOf: secrets.appendingPathComponent("zephyr-admin/mqtt-password"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(password.count == 48 && !admin.stdout.contains(password))
        #expect(
            try FileManager.default.attributesOfItem(atPath: secrets.appendingPathComponent("zephyr-admin/mqtt-password").path)[.posixPermissions]
                as? Int == 0o600)
        #expect(
            !FileManager.default.fileExists(atPath: secrets.appendingPathComponent("zephyr-admin/command-key").path), "no command key for the admin")
        #expect(
            admin.stdout.contains("MQTT_USERNAME=zephyr-admin MQTT_PASSWORD_FILE=\(secrets.path)/zephyr-admin/mqtt-password fleetctl forget NAME"),
            "\(admin.stdout)")

        // As hatchling names: refused before any rabbitmqctl call (/bin/false would fail it).
        for name in ["zephyr", "zephyr-admin", "keys", "fleetctl", "fleetctl-0badcafe"] {
            let refused = try await runProcessOffPool(
                Self.addScript, [name, secrets.path], environment: Self.path.merging(["RABBITMQCTL": "/bin/false"]) { $1 })
            #expect(refused.status == 2, "\(name): \(refused.stdout)\(refused.stderr)")
        }
    }
}
