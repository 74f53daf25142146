/* Digests shared by the services: session tokens (rg-core, rg-notify), content addresses
 * of PDFs and S3 payload hashes (storage).  In librg-io, which links libcrypto. */
#ifndef RG_DIGEST_H
#define RG_DIGEST_H

#include <stddef.h>

/* Lower-case hex SHA-256 of data into out (65 bytes with the NUL).  Thread safe. */
void rg_sha256_hex(const void *data, size_t len, char out[65]);

#endif
