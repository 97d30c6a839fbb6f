#ifndef FORESCALE_CTLS_H
#define FORESCALE_CTLS_H

#include <stddef.h>

/// A TLS server context (OpenSSL SSL_CTX) holding one certificate and key.
typedef struct fs_tls_server fs_tls_server;

/// Creates a server context from PEM text. On failure returns NULL and writes a message to err.
fs_tls_server *fs_tls_server_new(const char *cert_pem, const char *key_pem, char *err, size_t err_len);
void fs_tls_server_free(fs_tls_server *server);

/// Runs the TLS handshake on client_fd, then relays plaintext between the TLS session and
/// inner_fd (one end of a socketpair whose other end an HTTP server reads) until either side
/// closes or fails. Closes both descriptors before returning.
void fs_tls_relay(fs_tls_server *server, int client_fd, int inner_fd, int handshake_timeout_ms);

/// Generates a P-256 key and a self-signed certificate (basicConstraints CA:TRUE, so clients
/// can trust it as its own CA; extendedKeyUsage serverAuth) valid for `days`, with subject
/// alternative names given as "IP:127.0.0.1,DNS:localhost". *cert_pem and *key_pem are
/// malloc'd PEM strings the caller frees. Returns 0 on success.
int fs_tls_self_signed(const char *common_name, const char *sans, int days,
                       char **cert_pem, char **key_pem, char *err, size_t err_len);

#endif
