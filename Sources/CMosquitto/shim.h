#ifndef HATCHLING_CMOSQUITTO_SHIM_H
#define HATCHLING_CMOSQUITTO_SHIM_H
// libmosquitto's public API and its MQTT constants (reason codes, property identifiers), for
// MosquittoClient. No wrappers are needed; Swift imports both as they are. (The package's other C:
// CCrypto, libcrypto for FleetSigning; CSystem, Linux calls for HatchlingAgent.)
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
