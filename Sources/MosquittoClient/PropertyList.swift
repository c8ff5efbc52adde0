import CMosquitto
import HatchlingSystem

/// Builds an MQTT 5 property list, hands it to `body`, and frees it afterwards.
///
/// Every libmosquitto call we pass a list to copies it, so it is always freed here. (The one call
/// that would take ownership, `mosquitto_will_set_v5`, is not used: the will is set with
/// `mosquitto_will_set`, without properties.)
func withPropertyList<R>(
    _ build: (inout OpaquePointer?) throws(MQTTError) -> Void,
    _ body: (OpaquePointer?) throws(MQTTError) -> R
) throws(MQTTError) -> R {
    var list: OpaquePointer? = nil
    defer { mosquitto_property_free_all(&list) }
    try build(&list)
    return try body(list)
}

/// Adds the PUBLISH properties that are set.
func addPublishProperties(
    _ properties: MQTTPublishProperties, to list: inout OpaquePointer?
) throws(MQTTError) {
    if let expiry = properties.messageExpiryInterval {
        try MQTTError.check(
            mosquitto_property_add_int32(&list, Int32(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL.rawValue), expiry),
            "mosquitto_property_add_int32(message-expiry)")
    }
    if let data = properties.correlationData {
        let code = data.withUnsafeBytes { bytes in
            mosquitto_property_add_binary(
                &list, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), bytes.baseAddress, UInt16(clamping: bytes.count))
        }
        try MQTTError.check(code, "mosquitto_property_add_binary(correlation-data)")
    }
}

/// Reads the correlation data and the message expiry of a received PUBLISH.
func readMessageProperties(_ props: OpaquePointer?) -> (correlation: [UInt8]?, expiry: UInt32?) {
    guard let props else { return (nil, nil) }
    var correlation: [UInt8]? = nil
    var value: UnsafeMutableRawPointer? = nil
    var length: UInt16 = 0
    if mosquitto_property_read_binary(props, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), &value, &length, false) != nil {
        if let value {
            correlation = Array(UnsafeRawBufferPointer(start: value, count: Int(length)))
            free(value)  // the read functions hand us a copy to free
        } else {
            correlation = []
        }
    }
    var expiry: UInt32 = 0
    let hasExpiry =
        mosquitto_property_read_int32(
            props, Int32(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL.rawValue), &expiry, false) != nil
    return (correlation, hasExpiry ? expiry : nil)
}

/// Reads the reason string of a CONNACK or DISCONNECT, if the broker sent one.
func readReasonString(_ props: OpaquePointer?) -> String? {
    guard let props else { return nil }
    var value: UnsafeMutablePointer<CChar>? = nil
    guard mosquitto_property_read_string(props, Int32(MQTT_PROP_REASON_STRING.rawValue), &value, false) != nil,
        let value
    else { return nil }
    defer { free(value) }
    return String(cString: value)
}

/// Reads the maximum QoS of a CONNACK (MQTT 5), if the broker sent one.
func readMaximumQoS(_ props: OpaquePointer?) -> Int? {
    guard let props else { return nil }
    var value: UInt8 = 0
    guard mosquitto_property_read_byte(props, Int32(MQTT_PROP_MAXIMUM_QOS.rawValue), &value, false) != nil else { return nil }
    return Int(value)
}
