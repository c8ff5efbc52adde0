import FleetControl
import MosquittoClient
import Testing

@Suite("Connection settings: the agent's variables, flags over them")
struct ConnectionSettingsTests {
    func resolve(_ environment: [String: String], _ overrides: ConnectionOverrides = ConnectionOverrides(), files: [String: String] = [:]) throws
        -> ConnectionSettings
    {
        try ConnectionSettings.resolve(
            environment: environment, overrides: overrides, readSecret: { files[$0] }, isReadable: { files[$0] != nil })
    }

    @Test("defaults: mosquitto:1883, root fleet, broadcast zephyr/broadcast, MQTT 5, no credentials")
    func defaults() throws {
        let settings = try resolve([:])
        #expect(settings.endpoint == MQTTEndpoint(host: "mosquitto", port: 1883))
        #expect(settings.topicRoot == "fleet" && settings.broadcastTopic == "zephyr/broadcast")
        #expect(settings.protocolChoice == .auto && settings.username == nil && settings.password == nil && settings.tls == nil)
    }

    @Test("MQTT_HOST's first broker is used, with its port; MQTT_PORT and --port in their order")
    func hosts() throws {
        #expect(try resolve(["MQTT_HOST": "a:1884,b:1885"]).endpoint == MQTTEndpoint(host: "a", port: 1884))
        #expect(try resolve(["MQTT_HOST": "a:1884, b"]).endpoints == [MQTTEndpoint(host: "a", port: 1884), MQTTEndpoint(host: "b", port: 1883)])
        #expect(try resolve(["MQTT_HOST": "a,b", "MQTT_PORT": "1999"]).endpoint == MQTTEndpoint(host: "a", port: 1999))
        #expect(try resolve(["MQTT_HOST": "a:1884"], ConnectionOverrides(port: 2000)).endpoint.port == 2000)
        #expect(try resolve(["MQTT_HOST": "a:1884"], ConnectionOverrides(host: "hub")).endpoint == MQTTEndpoint(host: "hub", port: 1883))
        #expect(try resolve(["MQTT_HOST": "[::1]:1884"]).endpoint == MQTTEndpoint(host: "::1", port: 1884))
        #expect(throws: FleetctlError.self) { try resolve(["MQTT_HOST": "a:99999"]) }
        #expect(throws: FleetctlError.self) { try resolve(["MQTT_PORT": "x"]) }
    }

    @Test("credentials: the password file over MQTT_PASSWORD; both in the environment is an error; a password needs a user")
    func credentials() throws {
        let files = ["/pw": "from-file"]
        let settings = try resolve(["MQTT_USERNAME": "zephyr", "MQTT_PASSWORD_FILE": "/pw"], files: files)
        #expect(settings.username == "zephyr" && settings.password == "from-file")
        #expect(try resolve(["MQTT_USERNAME": "zephyr", "MQTT_PASSWORD": "p"]).password == "p")
        #expect(
            try resolve(["MQTT_USERNAME": "u", "MQTT_PASSWORD": "p"], ConnectionOverrides(passwordFile: "/pw"), files: files).password == "from-file")
        #expect(throws: FleetctlError.self) { try resolve(["MQTT_USERNAME": "u", "MQTT_PASSWORD": "p", "MQTT_PASSWORD_FILE": "/pw"], files: files) }
        #expect(throws: FleetctlError.self) { try resolve(["MQTT_PASSWORD": "p"]) }
        #expect(throws: FleetctlError.self) { try resolve(["MQTT_USERNAME": "u", "MQTT_PASSWORD_FILE": "/missing"]) }
    }

    @Test("TLS: the CA turns it on (port 8883); certificate and key together; files must be readable")
    func tls() throws {
        let files = ["/ca": "", "/crt": "", "/key": ""]
        let settings = try resolve(["MQTT_TLS_CA": "/ca"], ConnectionOverrides(tlsCert: "/crt", tlsKey: "/key"), files: files)
        #expect(settings.tls == MQTTTLSOptions(caFile: "/ca", certFile: "/crt", keyFile: "/key"))
        #expect(settings.endpoint.port == 8883)
        #expect(throws: FleetctlError.self) { try resolve(["MQTT_TLS_CA": "/ca", "MQTT_TLS_CERT": "/crt"], files: files) }
        #expect(throws: FleetctlError.self) { try resolve(["MQTT_TLS_CA": "/nope"], files: files) }
    }

    @Test("topics and protocol: flags over variables; bad values are errors that name the setting")
    func topicsAndProtocol() throws {
        let settings = try resolve(["MQTT_TOPIC_ROOT": "herd", "MQTT_PROTOCOL": "3.1.1"], ConnectionOverrides(broadcastTopic: "all/cmd"))
        #expect(settings.topicRoot == "herd" && settings.broadcastTopic == "all/cmd" && settings.protocolChoice == .v311)
        #expect(try resolve(["MQTT_TOPIC_ROOT": "herd"], ConnectionOverrides(topicRoot: "flock")).topicRoot == "flock")
        do {
            _ = try ConnectionSettings.resolve(environment: ["MQTT_TOPIC_ROOT": "fleet/#"], overrides: ConnectionOverrides())
            Issue.record("a wildcard root was accepted")
        } catch {
            #expect(error.description.hasPrefix("MQTT_TOPIC_ROOT "))
            #expect(error.exitStatus == 2)
        }
        // The agent's parser (BrokerSettings): 3.1 is another protocol (level 3), 4 is 3.1.1's level.
        #expect(throws: FleetctlError.self) { try resolve(["MQTT_PROTOCOL": "3.1"]) }
        #expect(try resolve(["MQTT_PROTOCOL": "311"]).protocolChoice == .v311)
        #expect(try resolve(["MQTT_PROTOCOL": "4"]).protocolChoice == .v311)
        #expect(try resolve(["MQTT_CONNECT_TIMEOUT": "2.5"]).connectTimeout == 2.5)
        #expect(throws: FleetctlError.self) { try resolve(["MQTT_CONNECT_TIMEOUT": "0"]) }
    }

    @Test("an error names the flag that gave the value, else the variable, with its flag when it has one")
    func errorNames() throws {
        func problem(_ environment: [String: String], _ overrides: ConnectionOverrides = ConnectionOverrides()) -> String? {
            do {
                _ = try resolve(environment, overrides, files: ["/crt": ""])
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(
            problem([:], ConnectionOverrides(protocolVersion: "3.1"))
                == "--protocol must be auto, 5 or 3.1.1: MQTT 3.1 (protocol level 3) is not supported, use 3.1.1")
        #expect(problem(["MQTT_PROTOCOL": "v5"]) == "MQTT_PROTOCOL must be auto, 5 or 3.1.1")
        #expect(problem([:], ConnectionOverrides(port: 0)) == "--port must be a port number from 1 to 65535")
        #expect(problem(["MQTT_PASSWORD": "p"]) == "MQTT_USERNAME (--username) is required when a password is set")
        #expect(
            problem([:], ConnectionOverrides(tlsCert: "/crt"))
                == "MQTT_TLS_KEY (--tls-key) must be set together with MQTT_TLS_CERT")
        #expect(problem(["MQTT_CONNECT_TIMEOUT": "0"]) == "MQTT_CONNECT_TIMEOUT must be a number of seconds from 1 to 300")
    }

    @Test("each run gets a fresh client id fleetctl-<8 hex> and a clean session")
    func clientID() throws {
        let options = try resolve([:]).clientOptions(protocolVersion: .v5)
        #expect(options.clientID.hasPrefix("fleetctl-") && options.clientID.count == 17)
        #expect(options.cleanSession)
        #expect(ConnectionSettings.freshClientID() != ConnectionSettings.freshClientID())
    }
}
