#ifndef HATCHLING_CMOSQUITTO_SHIM_H
#define HATCHLING_CMOSQUITTO_SHIM_H
// The only C the package sees: libmosquitto's public API and its MQTT constants
// (reason codes, property identifiers). No wrappers are needed; Swift imports both as they are.
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
