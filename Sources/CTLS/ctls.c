#include "ctls.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct fs_tls_server {
    SSL_CTX *ctx;
};

static void set_error(char *err, size_t err_len, const char *what) {
    if (err == NULL || err_len == 0) return;
    unsigned long code = ERR_get_error();
    if (code != 0) {
        char detail[256];
        ERR_error_string_n(code, detail, sizeof detail);
        snprintf(err, err_len, "%s: %s", what, detail);
    } else {
        snprintf(err, err_len, "%s", what);
    }
    ERR_clear_error();
}

fs_tls_server *fs_tls_server_new(const char *cert_pem, const char *key_pem, char *err, size_t err_len) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) { set_error(err, err_len, "SSL_CTX_new failed"); return NULL; }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    BIO *cert_bio = BIO_new_mem_buf(cert_pem, -1);
    X509 *cert = PEM_read_bio_X509(cert_bio, NULL, NULL, NULL);
    BIO_free(cert_bio);
    BIO *key_bio = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(key_bio, NULL, NULL, NULL);
    BIO_free(key_bio);
    int ok = cert != NULL && key != NULL
        && SSL_CTX_use_certificate(ctx, cert) == 1
        && SSL_CTX_use_PrivateKey(ctx, key) == 1
        && SSL_CTX_check_private_key(ctx) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!ok) {
        set_error(err, err_len, "cannot use the certificate and key");
        SSL_CTX_free(ctx);
        return NULL;
    }
    fs_tls_server *server = calloc(1, sizeof *server);
    server->ctx = ctx;
    return server;
}

void fs_tls_server_free(fs_tls_server *server) {
    if (server == NULL) return;
    SSL_CTX_free(server->ctx);
    free(server);
}

/// Waits for client_fd to become readable or writable; returns 0 on timeout or error.
static int wait_for(int fd, short events, int timeout_ms) {
    struct pollfd descriptor = { .fd = fd, .events = events };
    int result;
    do { result = poll(&descriptor, 1, timeout_ms); } while (result < 0 && errno == EINTR);
    return result > 0;
}

static int write_all(int fd, const unsigned char *bytes, size_t count) {
    while (count > 0) {
        ssize_t sent = send(fd, bytes, count, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) return 0;
        bytes += sent;
        count -= (size_t)sent;
    }
    return 1;
}

/// SSL_write of the whole buffer on a non-blocking socket.
static int tls_write_all(SSL *ssl, int fd, const unsigned char *bytes, int count) {
    while (count > 0) {
        int written = SSL_write(ssl, bytes, count);
        if (written > 0) { bytes += written; count -= written; continue; }
        int code = SSL_get_error(ssl, written);
        if (code == SSL_ERROR_WANT_WRITE) { if (!wait_for(fd, POLLOUT, 30000)) return 0; continue; }
        if (code == SSL_ERROR_WANT_READ) { if (!wait_for(fd, POLLIN, 30000)) return 0; continue; }
        return 0;
    }
    return 1;
}

void fs_tls_relay(fs_tls_server *server, int client_fd, int inner_fd, int handshake_timeout_ms) {
    SSL *ssl = SSL_new(server->ctx);
    int flags = fcntl(client_fd, F_GETFL, 0);
    fcntl(client_fd, F_SETFL, flags | O_NONBLOCK);
    if (ssl == NULL || SSL_set_fd(ssl, client_fd) != 1) goto done;
    for (;;) {
        int result = SSL_accept(ssl);
        if (result == 1) break;
        int code = SSL_get_error(ssl, result);
        if (code == SSL_ERROR_WANT_READ && wait_for(client_fd, POLLIN, handshake_timeout_ms)) continue;
        if (code == SSL_ERROR_WANT_WRITE && wait_for(client_fd, POLLOUT, handshake_timeout_ms)) continue;
        goto done;
    }
    unsigned char buffer[16384];
    for (;;) {
        struct pollfd descriptors[2] = {
            { .fd = client_fd, .events = POLLIN },
            { .fd = inner_fd, .events = POLLIN },
        };
        if (SSL_pending(ssl) == 0) {
            int result = poll(descriptors, 2, -1);
            if (result < 0 && errno == EINTR) continue;
            if (result < 0) break;
        } else {
            descriptors[0].revents = POLLIN;
        }
        if (descriptors[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            int count = SSL_read(ssl, buffer, sizeof buffer);
            if (count > 0) {
                if (!write_all(inner_fd, buffer, (size_t)count)) break;
            } else {
                int code = SSL_get_error(ssl, count);
                if (code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE) {
                    // The client closed (or failed): the HTTP side sees end of input.
                    shutdown(inner_fd, SHUT_WR);
                    break;
                }
            }
        }
        if (descriptors[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t count;
            do { count = recv(inner_fd, buffer, sizeof buffer, 0); } while (count < 0 && errno == EINTR);
            if (count <= 0) {
                SSL_shutdown(ssl);
                break;
            }
            if (!tls_write_all(ssl, client_fd, buffer, (int)count)) break;
        }
    }
done:
    if (ssl != NULL) SSL_free(ssl);
    ERR_clear_error();
    close(client_fd);
    close(inner_fd);
}

static int add_extension(X509 *cert, int nid, const char *value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *extension = X509V3_EXT_conf_nid(NULL, &context, nid, value);
    if (extension == NULL) return 0;
    int ok = X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
    return ok;
}

static char *bio_string(BIO *bio) {
    char *data = NULL;
    long length = BIO_get_mem_data(bio, &data);
    char *copy = malloc((size_t)length + 1);
    memcpy(copy, data, (size_t)length);
    copy[length] = 0;
    return copy;
}

int fs_tls_self_signed(const char *common_name, const char *sans, int days,
                       char **cert_pem, char **key_pem, char *err, size_t err_len) {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    int ok = key != NULL && cert != NULL;
    if (ok) {
        X509_set_version(cert, 2);
        unsigned char serial[16];
        BIGNUM *number = BN_new();
        ok = RAND_bytes(serial, sizeof serial) == 1 && BN_bin2bn(serial, sizeof serial, number) != NULL;
        if (ok) {
            BN_clear_bit(number, 127);
            ok = BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert)) != NULL;
        }
        BN_free(number);
    }
    if (ok) {
        X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
        X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 24 * 3600);
        X509_NAME *name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"forescale", -1, -1, 0);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)common_name, -1, -1, 0);
        X509_set_issuer_name(cert, name);
        ok = X509_set_pubkey(cert, key) == 1
            && add_extension(cert, NID_basic_constraints, "critical,CA:TRUE")
            && add_extension(cert, NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign")
            && add_extension(cert, NID_ext_key_usage, "serverAuth")
            && add_extension(cert, NID_subject_key_identifier, "hash")
            && add_extension(cert, NID_subject_alt_name, sans)
            && X509_sign(cert, key, EVP_sha256()) > 0;
    }
    if (ok) {
        BIO *cert_bio = BIO_new(BIO_s_mem());
        BIO *key_bio = BIO_new(BIO_s_mem());
        ok = PEM_write_bio_X509(cert_bio, cert) == 1 && PEM_write_bio_PrivateKey(key_bio, key, NULL, NULL, 0, NULL, NULL) == 1;
        if (ok) {
            *cert_pem = bio_string(cert_bio);
            *key_pem = bio_string(key_bio);
        }
        BIO_free(cert_bio);
        BIO_free(key_bio);
    }
    if (!ok) set_error(err, err_len, "cannot generate a self-signed certificate");
    X509_free(cert);
    EVP_PKEY_free(key);
    return ok ? 0 : -1;
}
