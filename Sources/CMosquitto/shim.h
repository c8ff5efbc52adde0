#ifndef HATCHLING_CMOSQUITTO_SHIM_H
#define HATCHLING_CMOSQUITTO_SHIM_H
// libmosquitto's public API and its MQTT constants (reason codes, property identifiers), for
// MosquittoClient. No wrappers are needed; Swift imports both as they are. (The package's other C:
// CCrypto, libcrypto for FleetSigning; CSystem, Linux calls for HatchlingAgent.)
#include <mosquitto.h>
#include <mqtt_protocol.h>

// OpenSSL's count of decrypted bytes it holds, for the TLS connection `mosquitto_ssl_get` returns
// (declared here with the pointer libmosquitto hands out, so that no OpenSSL header is needed;
// libssl is already loaded with libmosquitto). An event loop must read those bytes itself: they
// never make the socket readable again.
extern int SSL_pending(const void *ssl);
#endif
