#include "ctls.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_AUTO_RETRY);
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

struct fs_tls_session {
    SSL *ssl;
};

fs_tls_session *fs_tls_accept(fs_tls_server *server, int fd) {
    int one = 1;
    // Small TLS records (a watch event, a response) must not wait for Nagle's algorithm.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SSL *ssl = SSL_new(server->ctx);
    if (ssl == NULL) { ERR_clear_error(); return NULL; }
    if (SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
        SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    fs_tls_session *session = calloc(1, sizeof *session);
    session->ssl = ssl;
    return session;
}

int fs_tls_read(fs_tls_session *session, void *buffer, int count) {
    for (;;) {
        int result = SSL_read(session->ssl, buffer, count);
        if (result > 0) return result;
        int code = SSL_get_error(session->ssl, result);
        if (code == SSL_ERROR_ZERO_RETURN) return 0;
        if (code == SSL_ERROR_SYSCALL && result == 0) return 0;
        if (code == SSL_ERROR_SYSCALL && errno == EINTR) continue;
        ERR_clear_error();
        return -1;
    }
}

int fs_tls_write(fs_tls_session *session, const void *bytes, int count) {
    const unsigned char *cursor = bytes;
    while (count > 0) {
        int written = SSL_write(session->ssl, cursor, count);
        if (written > 0) { cursor += written; count -= written; continue; }
        int code = SSL_get_error(session->ssl, written);
        if (code == SSL_ERROR_SYSCALL && errno == EINTR) continue;
        ERR_clear_error();
        return 0;
    }
    return 1;
}

int fs_tls_pending(fs_tls_session *session) {
    return SSL_pending(session->ssl);
}

void fs_tls_close(fs_tls_session *session) {
    if (session == NULL) return;
    SSL_set_shutdown(session->ssl, SSL_RECEIVED_SHUTDOWN);
    SSL_shutdown(session->ssl);
    SSL_free(session->ssl);
    ERR_clear_error();
    free(session);
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
