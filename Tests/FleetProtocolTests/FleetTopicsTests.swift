import FleetProtocol
import Testing

@Suite("FleetTopics")
struct FleetTopicsTests {
    let mason = try! HatchlingName(validating: "mason")

    @Test("default root and broadcast give the contract's topics")
    func defaults() {
        let topics = FleetTopics(name: mason)
        #expect(topics.root == "fleet")
        #expect(topics.command == "fleet/mason/command")
        #expect(topics.response == "fleet/mason/response")
        #expect(topics.heartbeat == "fleet/mason/heartbeat")
        #expect(topics.status == "fleet/mason/status")
        #expect(topics.broadcast == "zephyr/broadcast")
        #expect(FleetTopics.defaultRoot == "fleet")
        #expect(FleetTopics.defaultBroadcast == "zephyr/broadcast")
    }

    @Test("a custom root and broadcast topic are used as given")
    func custom() {
        let topics = FleetTopics(name: mason, root: "site-a/fleet", broadcast: "site-a/all")
        #expect(topics.command == "site-a/fleet/mason/command")
        #expect(topics.status == "site-a/fleet/mason/status")
        #expect(topics.broadcast == "site-a/all")
    }

    @Test("subscribes to exactly the two command topics and publishes to exactly its three")
    func subscriptionsAndPublications() {
        let topics = FleetTopics(name: mason)
        #expect(topics.subscriptions == ["fleet/mason/command", "zephyr/broadcast"])
        #expect(topics.publications == ["fleet/mason/response", "fleet/mason/heartbeat", "fleet/mason/status", "fleet/mason/event"])
        #expect(Set(topics.subscriptions).isDisjoint(with: topics.publications))
    }

    @Test("valid topics pass", arguments: ["fleet", "zephyr/broadcast", "a/b/c", "site-a/fleet_1"])
    func validTopics(_ topic: String) {
        #expect(FleetTopics.validateTopic(topic) == nil)
    }

    @Test(
        "wildcards, empty levels, control characters and oversize topics are refused",
        arguments: [
            ("", "empty"), ("fleet/+", "wildcards"), ("fleet/#", "wildcards"), ("a/+/b", "wildcards"), ("#", "wildcards"),
            ("/fleet", "empty level"), ("fleet/", "empty level"), ("a//b", "empty level"), ("/", "empty level"),
            ("a\u{7}b", "control"), ("a\u{7F}b", "control"), (String(repeating: "a", count: 257), "256"),
        ])
    func invalidTopics(_ topic: String, _ phrase: String) throws {
        let problem = try #require(FleetTopics.validateTopic(topic))
        #expect(problem.contains(phrase))
    }

    @Test("256 bytes is still allowed")
    func maximumLength() {
        #expect(FleetTopics.validateTopic(String(repeating: "a", count: 256)) == nil)
    }

    @Test("the hub reads the name and leaf from a hatchling's topic")
    func nameInTopic() throws {
        let found = try #require(FleetTopics.hatchlingName(inTopic: "fleet/mason/heartbeat"))
        #expect(found.name == "mason")
        #expect(found.leaf == "heartbeat")
        let custom = try #require(FleetTopics.hatchlingName(inTopic: "x/y/mason/status", root: "x/y"))
        #expect(custom.name == "mason" && custom.leaf == "status")
        #expect(FleetTopics.hatchlingName(inTopic: "other/mason/heartbeat") == nil)
        #expect(FleetTopics.hatchlingName(inTopic: "fleet/mason") == nil)
        #expect(FleetTopics.hatchlingName(inTopic: "fleet/mason/a/b") == nil)
    }
}
