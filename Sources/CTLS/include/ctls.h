#ifndef FORESCALE_CTLS_H
#define FORESCALE_CTLS_H

#include <stddef.h>

/// A TLS server context (OpenSSL SSL_CTX) holding one certificate and key.
typedef struct fs_tls_server fs_tls_server;

/// Creates a server context from PEM text. On failure returns NULL and writes a message to err.
fs_tls_server *fs_tls_server_new(const char *cert_pem, const char *key_pem, char *err, size_t err_len);
void fs_tls_server_free(fs_tls_server *server);

/// One TLS session on a blocking socket (OpenSSL SSL). Not thread-safe: reads and writes
/// must not run concurrently.
typedef struct fs_tls_session fs_tls_session;

/// Runs the server handshake on fd (the socket's SO_RCVTIMEO/SO_SNDTIMEO bound it).
/// Returns NULL on failure. The session does not own fd.
fs_tls_session *fs_tls_accept(fs_tls_server *server, int fd);
/// Like recv: > 0 bytes read, 0 when the peer closed, -1 on error or timeout.
int fs_tls_read(fs_tls_session *session, void *buffer, int count);
/// Writes all bytes; 1 on success, 0 on error or timeout.
int fs_tls_write(fs_tls_session *session, const void *bytes, int count);
/// Decrypted bytes buffered inside the session (readable without touching the socket).
int fs_tls_pending(fs_tls_session *session);
/// Sends close_notify (best effort) and frees the session.
void fs_tls_close(fs_tls_session *session);

/// Generates a P-256 key and a self-signed certificate (basicConstraints CA:TRUE, so clients
/// can trust it as its own CA; extendedKeyUsage serverAuth) valid for `days`, with subject
/// alternative names given as "IP:127.0.0.1,DNS:localhost". *cert_pem and *key_pem are
/// malloc'd PEM strings the caller frees. Returns 0 on success.
int fs_tls_self_signed(const char *common_name, const char *sans, int days,
                       char **cert_pem, char **key_pem, char *err, size_t err_len);

#endif
