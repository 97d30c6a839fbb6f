// Typed wrappers around libcurl's variadic entry points, which Swift cannot call.
// Each wrapper fixes the type of the third argument, as the libcurl docs require
// for the option it is used with (long, curl_off_t, pointer, function pointer).
#ifndef FORESCALE_CCURL_SHIM_H
#define FORESCALE_CCURL_SHIM_H

#include <curl/curl.h>
#include <fcntl.h>

typedef size_t (*fs_curl_data_callback)(char *buffer, size_t size, size_t nitems, void *userdata);

static inline CURLcode fs_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode fs_easy_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode fs_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode fs_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// Marks every socket libcurl opens close-on-exec: a child process spawned meanwhile (an
/// exec credential plugin) must not inherit it and keep the connection open after we close it.
static int fs_curl_sockopt_cloexec(void *clientp, curl_socket_t fd, curlsocktype purpose) {
    (void)clientp; (void)purpose;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    return CURL_SOCKOPT_OK;
}

static inline CURLcode fs_easy_set_sockets_cloexec(CURL *handle) {
    return curl_easy_setopt(handle, CURLOPT_SOCKOPTFUNCTION, fs_curl_sockopt_cloexec);
}

static inline CURLcode fs_easy_setopt_callback(CURL *handle, CURLoption option, fs_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/// Sets a `struct curl_blob` option (CA, client certificate or key held in memory).
/// CURL_BLOB_COPY makes libcurl keep its own copy, so `data` may be freed afterwards.
static inline CURLcode fs_easy_setopt_blob(CURL *handle, CURLoption option, const void *data, size_t length) {
    struct curl_blob blob;
    blob.data = (void *)data;
    blob.len = length;
    blob.flags = CURL_BLOB_COPY;
    return curl_easy_setopt(handle, option, &blob);
}

static inline CURLcode fs_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode fs_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLMcode fs_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

#endif
