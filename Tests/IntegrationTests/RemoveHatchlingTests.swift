import Foundation
import HatchlingSystem
import Testing

/// remove-hatchling.sh (mosquitto and RabbitMQ) at fleet size and without the rights it needs.
@Suite("remove-hatchling.sh: large fleets, missing rights")
struct RemoveHatchlingTests {
    static let path = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    static let mosquittoScript = TemplateBrokerTests.mosquittoDirectory.appendingPathComponent("remove-hatchling.sh").path
    static let rabbitScript = DeploymentTests.template.appendingPathComponent("rabbitmq/remove-hatchling.sh").path

    @Test("a user listed first among 8,000 is found and removed (a grep -q under pipefail called it missing), mosquitto and RabbitMQ")
    func largeFleet() async throws {
        let directory = try makeTemporaryDirectory(prefix: "remove-large")
        let passwd = directory.appendingPathComponent("passwd")
        let secrets = directory.appendingPathComponent("secrets")
        let made = try await runProcessOffPool(try which("mosquitto_passwd"), ["-c", "-b", passwd.path, "alpha", "pw-alpha"], environment: Self.path)
        #expect(made.status == 0, "\(made.stderr)")
        let first = try String(contentsOf: passwd, encoding: .utf8)
        let hash = first.drop { $0 != ":" }.dropFirst().trimmingCharacters(in: .newlines)
        let others = (1...8000).map { "hatchling-\($0):\(hash)\n" }.joined()
        try (first + others).write(to: passwd, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: secrets.appendingPathComponent("alpha"), withIntermediateDirectories: true)

        let removed = try await runProcessOffPool(Self.mosquittoScript, ["alpha", passwd.path, secrets.path], environment: Self.path)
        #expect(removed.status == 0 && removed.stdout.contains("removed broker user 'alpha'"), "\(removed.stdout)\(removed.stderr)")
        let left = try String(contentsOf: passwd, encoding: .utf8)
        #expect(!left.contains("alpha:") && left.split(separator: "\n").count == 8000)

        // RabbitMQ: a rabbitmqctl that lists 8,000 users (the one to delete first) and logs what it is asked.
        let calls = directory.appendingPathComponent("calls.log")
        let fake = directory.appendingPathComponent("rabbitmqctl")
        try """
        #!/bin/sh
        echo "$*" >> '\(calls.path)'
        case "$*" in
          *list_users*) printf 'alpha\\t[]\\n'; i=1; while [ $i -le 8000 ]; do printf 'hatchling-%d\\t[]\\n' $i; i=$((i+1)); done ;;
        esac
        exit 0
        """.write(to: fake, atomically: true, encoding: .utf8)
        chmod(fake.path, 0o755)
        try FileManager.default.createDirectory(at: secrets.appendingPathComponent("alpha"), withIntermediateDirectories: true)
        let rabbit = try await runProcessOffPool(
            Self.rabbitScript, ["alpha", secrets.path], environment: Self.path.merging(["RABBITMQCTL": fake.path]) { $1 })
        #expect(rabbit.status == 0, "\(rabbit.stdout)\(rabbit.stderr)")
        let log = (try? String(contentsOf: calls, encoding: .utf8)) ?? ""
        #expect(log.contains("delete_user alpha"), "rabbitmqctl was asked: \(log)")
    }

    @Test(
        "run by a user who cannot remove the secrets: nothing is removed, the broker user stays, exit 1 with the reason",
        .enabled(if: getuid() == 0, "needs root: runs the script as nobody with setpriv"))
    func withoutRights() async throws {
        let directory = try makeTemporaryDirectory(prefix: "remove-rights")
        let passwd = directory.appendingPathComponent("passwd")
        let secrets = directory.appendingPathComponent("secrets")
        let made = try await runProcessOffPool(try which("mosquitto_passwd"), ["-c", "-b", passwd.path, "mason", "pw-mason"], environment: Self.path)
        #expect(made.status == 0)
        let folder = secrets.appendingPathComponent("mason")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "pw-mason\n".write(to: folder.appendingPathComponent("mqtt-password"), atomically: true, encoding: .utf8)
        // The operator (nobody here) owns the broker's files but not the hatchling's folder, which
        // add-hatchling.sh's advice gives to the agent's uid, 0700.
        let nobody = try #require(getpwnam("nobody")).pointee
        for url in [directory, passwd, secrets] { chown(url.path, nobody.pw_uid, nobody.pw_gid) }
        chmod(directory.path, 0o755)
        chmod(folder.path, 0o700)
        let before = try String(contentsOf: passwd, encoding: .utf8)
        let result = try runProcess(
            try which("setpriv"),
            [
                "--reuid=\(nobody.pw_uid)", "--regid=\(nobody.pw_gid)", "--clear-groups", "--", Self.mosquittoScript, "mason", passwd.path,
                secrets.path,
            ],
            environment: Self.path)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(
            result.stderr.contains("\(folder.path) (or a folder in it) is not open to") && result.stderr.contains("nothing removed"),
            "\(result.stderr)")
        #expect(try String(contentsOf: passwd, encoding: .utf8) == before, "the broker user stays")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("mqtt-password").path))
        try? FileManager.default.removeItem(at: directory)
    }
}
