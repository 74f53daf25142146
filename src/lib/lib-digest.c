/* SHA-256 in lower-case hex (see include/rg/digest.h). */
#include <openssl/evp.h>
#include <pthread.h>

#include "rg/digest.h"

/* OpenSSL 3 looks SHA-256 up among its providers on every SHA256() or EVP_sha256() digest
 * (EVP_MD_fetch: 7,700 instructions, two thirds of hashing a session token, on every
 * request of rg-core and rg-notify): fetched once here instead. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void rg_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    static const char hex[] = "0123456789abcdef";
    pthread_once(&sha256_once, sha256_fetch);
    (void)EVP_Digest(data, len, md, &n, sha256_md ? sha256_md : EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = 0;
}
