import MosquittoClient

/// A message the agent publishes.
public struct OutboundMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int
    public var retain: Bool
    public var properties: MQTTPublishProperties

    public init(topic: String, payload: [UInt8], qos: Int = 1, retain: Bool = false, properties: MQTTPublishProperties = MQTTPublishProperties()) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.properties = properties
    }
}

/// Where the agent's messages go: the MQTT client in production, memory in unit tests.
public protocol BusPublisher: Sendable {
    /// Queues the message; returns its message id.
    @discardableResult
    func publish(_ message: OutboundMessage) throws -> Int32

    /// Runs work that should not hold back what was just published, such as a command's log line
    /// (`MQTTClient.afterPendingWrites`). At once by default.
    func afterPendingWrites(_ work: @escaping @Sendable () -> Void)
}

extension BusPublisher {
    public func afterPendingWrites(_ work: @escaping @Sendable () -> Void) { work() }
}

extension MQTTClient: BusPublisher {
    @discardableResult
    public func publish(_ message: OutboundMessage) throws -> Int32 {
        try publish(topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain, properties: message.properties)
    }
}
