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

extension MQTTConnection {
    /// Publishes `message`; returns its message id.
    @discardableResult
    public func publish(_ message: OutboundMessage) throws(MQTTError) -> Int32 {
        try publish(topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain, properties: message.properties)
    }
}
