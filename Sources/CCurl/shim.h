// libcurl for the URL data encoder (Debian's libcurl4-openssl-dev: TLS from the system's OpenSSL,
// HTTP/2, timeouts; the library FoundationNetworking itself is built on).
//
// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: these typed
// wrappers pass exactly one argument of the type each option documents. CURL_GLOBAL_DEFAULT is a
// composite macro Swift does not import.
#ifndef DATAGENERATOR_CCURL_SHIM_H
#define DATAGENERATOR_CCURL_SHIM_H

#include <curl/curl.h>

/// The signature of CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION.
typedef size_t (*dg_curl_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode dg_curl_global_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT); }

static inline CURLcode dg_curl_set_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode dg_curl_set_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode dg_curl_set_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode dg_curl_set_callback(CURL *handle, CURLoption option, dg_curl_data_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

static inline CURLcode dg_curl_get_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif
