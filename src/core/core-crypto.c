/* Small cryptographic helpers: kernel randomness, SHA-256, encodings, RFC 6238 TOTP.
 * Hashes and HMAC come from OpenSSL's libcrypto; nothing here is home-made crypto. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "core.h"
#include "rg/mem.h"

void core_random(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t k = getrandom(p, n, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            RG_ASSERT(!"getrandom failed");
        }
        p += k;
        n -= (size_t)k;
    }
}

void core_b64url(const void *data, size_t n, char *out, size_t cap)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *p = data;
    size_t o = 0;
    RG_ASSERT(cap >= (n + 2) / 3 * 4 + 1);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = al[(v >> 18) & 63];
        out[o++] = al[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = al[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = al[v & 63];
    }
    out[o] = '\0';
}

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void core_base32(const void *data, size_t n, char *out, size_t cap)
{
    const unsigned char *p = data;
    uint32_t buf = 0;
    int bits = 0;
    size_t o = 0;
    RG_ASSERT(cap >= (n * 8 + 4) / 5 + 1);
    for (size_t i = 0; i < n; i++) {
        buf = (buf << 8) | p[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits)
        out[o++] = b32[(buf << (5 - bits)) & 31];
    out[o] = '\0';
}

int core_base32_decode(const char *s, unsigned char *out, size_t cap)
{
    uint32_t buf = 0;
    int bits = 0;
    size_t o = 0;
    for (; *s; s++) {
        char ch = *s;
        if (ch == '=' || ch == ' ')
            continue;
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        const char *pos = strchr(b32, ch);
        if (!pos || !ch)
            return -EINVAL;
        buf = (buf << 5) | (uint32_t)(pos - b32);
        bits += 5;
        if (bits >= 8) {
            if (o == cap)
                return -EINVAL;
            out[o++] = (unsigned char)(buf >> (bits - 8));
            bits -= 8;
        }
    }
    return (int)o;
}

unsigned core_totp(const unsigned char *key, size_t keylen, uint64_t step)
{
    unsigned char msg[8], md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    for (int i = 7; i >= 0; i--) {
        msg[i] = (unsigned char)(step & 0xff);
        step >>= 8;
    }
    HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof msg, md, &mdlen);
    /* RFC 4226 5.3 dynamic truncation. */
    unsigned off = md[mdlen - 1] & 0x0f;
    uint32_t bin = ((uint32_t)(md[off] & 0x7f) << 24) | ((uint32_t)md[off + 1] << 16) |
                   ((uint32_t)md[off + 2] << 8) | md[off + 3];
    return bin % 1000000;
}

int core_streq_ct(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}

/* ---- sealing secrets at rest --------------------------------------------------------- */

#define SEAL_NONCE 12
#define SEAL_TAG 16

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int core_seal(const unsigned char key[32], const char *aad, const char *plain, char *out,
              size_t cap)
{
    size_t n = strlen(plain), raw = SEAL_NONCE + n + SEAL_TAG;
    unsigned char buf[SEAL_NONCE + 256 + SEAL_TAG];
    int len, ok = 0;

    if (n > 256 || cap < 3 + 2 * raw + 1)
        return -1;
    core_random(buf, SEAL_NONCE);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    RG_ASSERT(c);
    if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, buf) == 1 &&
        EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
        EVP_EncryptUpdate(c, buf + SEAL_NONCE, &len, (const unsigned char *)plain, (int)n) == 1 &&
        EVP_EncryptFinal_ex(c, buf + SEAL_NONCE + len, &len) == 1 &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, buf + SEAL_NONCE + n) == 1)
        ok = 1;
    EVP_CIPHER_CTX_free(c);
    RG_ASSERT(ok);
    memcpy(out, "v1:", 3);
    for (size_t i = 0; i < raw; i++)
        snprintf(out + 3 + 2 * i, 3, "%02x", buf[i]);
    return 0;
}

int core_unseal(const unsigned char key[32], const char *aad, const char *sealed, char *out,
                size_t cap)
{
    unsigned char buf[SEAL_NONCE + 256 + SEAL_TAG];
    size_t hl, raw, n;
    int len, ok = 0;

    if (strncmp(sealed, "v1:", 3) != 0)
        return -1;
    sealed += 3;
    hl = strlen(sealed);
    raw = hl / 2;
    if (hl % 2 || raw < SEAL_NONCE + SEAL_TAG || raw > sizeof buf)
        return -1;
    for (size_t i = 0; i < raw; i++) {
        int hi = hexval(sealed[2 * i]), lo = hexval(sealed[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        buf[i] = (unsigned char)(hi << 4 | lo);
    }
    n = raw - SEAL_NONCE - SEAL_TAG;
    if (cap < n + 1)
        return -1;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    RG_ASSERT(c);
    if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, buf) == 1 &&
        EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
        EVP_DecryptUpdate(c, (unsigned char *)out, &len, buf + SEAL_NONCE, (int)n) == 1 &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, buf + SEAL_NONCE + n) == 1 &&
        EVP_DecryptFinal_ex(c, (unsigned char *)out + len, &len) == 1)
        ok = 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        rg_memzero(out, cap);
        return -1;
    }
    out[n] = '\0';
    return 0;
}
