#ifndef HATCHLING_CCRYPTO_SHIM_H
#define HATCHLING_CCRYPTO_SHIM_H
// OpenSSL's libcrypto, for FleetSigning: HMAC-SHA256 of signed commands and the package's SHA-256
// (`PayloadDigest`). The library libmosquitto already links (no new code in the process, no size),
// maintained, and constant-time compare included.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#endif
