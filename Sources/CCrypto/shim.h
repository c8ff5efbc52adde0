#ifndef HATCHLING_CCRYPTO_SHIM_H
#define HATCHLING_CCRYPTO_SHIM_H
// OpenSSL's libcrypto, for HMAC-SHA256 of signed commands: the library libmosquitto already links
// (no new code in the process, no size), maintained, and constant-time compare included.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#endif
