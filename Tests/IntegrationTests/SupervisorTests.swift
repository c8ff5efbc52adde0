import FleetProtocol
import Foundation
import HatchlingSystem
import Testing

/// The agent as the template starts it: under the real `tini`, with its supervisor.
@Suite("Crash recovery under tini", .serialized)
struct SupervisorTests {
    @Test(
        "a killed worker (twice SIGKILL, then a stray SIGTERM) is back online within 10 s each time, no zombie stays, SIGTERM to tini ends everything cleanly"
    )
    func underTini() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/heron/status"])
            defer { hub.close() }
            let agent = try TestAgent(name: "heron", broker: broker)
            let tini = try ChildProcess(
                executable: try which("tini"), arguments: ["-g", "--", try TestAgent.executable.path], environment: agent.environment,
                outputPath: agent.logURL.path)
            do {
                var seen: Set<String> = [try await hub.waitOnline("heron").bootId]
                let supervisor = try #require(childPIDs(of: tini.pid).first)
                for (round, number) in [(1, SIGKILL), (2, SIGKILL), (3, SIGTERM)] {
                    let worker = try #require(childPIDs(of: supervisor).first, "round \(round): a worker runs")
                    kill(worker, number)
                    let known = seen
                    let back = try await hub.waitForMessage("round \(round): online with a new boot id", timeout: 10) { message in
                        guard let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload) else { return false }
                        return status.state == .online && !known.contains(status.bootId)
                    }
                    seen.insert(try FleetJSON.decode(StatusPayload.self, from: back.payload).bootId)
                    #expect(childPIDs(of: supervisor).first != worker)
                    #expect(zombieChildren(of: supervisor).isEmpty)
                    #expect(zombieChildren(of: tini.pid).isEmpty)
                }
                tini.signal(SIGTERM)
                let status = await tini.waitForExit(seconds: 10)
                #expect(status == 0, "tini and the agent exit 0 within 10 s of SIGTERM:\n\(agent.log())")
                let offline = try await hub.waitForMessage("shutdown announced") { message in
                    (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.reason == .shutdown
                }
                #expect(offline.topic == "fleet/heron/status")
            } catch {
                await killTree(tini)
                print(agent.log())
                throw error
            }
            await killTree(tini)
        }
    }

    @Test("a configuration error is not retried: exit 2 at once, no worker")
    func configurationErrorExits() async throws {
        let result = try runAgentCommand(["run"], environment: ["HATCHLING_NAME": "bad/name"])
        #expect(result.status == 2)
    }
}
