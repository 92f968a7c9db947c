#ifndef DATAGENERATOR_CCRYPTO_SHIM_H
#define DATAGENERATOR_CCRYPTO_SHIM_H
// OpenSSL's libcrypto from Debian's libssl-dev, for SHA-256 through the EVP interface
// (cache fingerprints and batch digests; SHA-NI accelerated).
#include <openssl/evp.h>
#endif
