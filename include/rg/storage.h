/* Object storage for finished PDFs: one interface, two backends (docs/flow.md).
 *
 *   fs:///var/lib/resumego/objects           a local folder (the default); writes are
 *                                            atomic (temporary file, fsync, rename)
 *   s3://bucket?endpoint=http://host:port&region=us-east-1
 *                                            any S3-compatible service, path-style URLs,
 *                                            SigV4 through curl 7.88 with the work-arounds
 *                                            of SYSTEM-NOTES §6 (x-amz-content-sha256 set
 *                                            by us, path encoded once per segment).
 *                                            Credentials: RG_S3_ACCESS_KEY, RG_S3_SECRET_KEY
 *                                            (or *_FILE naming a file that holds them).
 *
 * A struct rg_storage is not thread safe (the S3 backend keeps one curl handle for
 * connection reuse); use one per thread or process.  Keys are relative paths of
 * non-empty segments without "." or "..".  Nothing here logs. */
#ifndef RG_STORAGE_H
#define RG_STORAGE_H

#include <stddef.h>

#include "rg/buf.h"
#include "rg/err.h"

struct rg_storage;

/* Opens url (NULL or "" = -EINVAL).  Returns 0 and *ret, or -EINVAL/RG_ECONFIG with ei. */
int rg_storage_open(const char *url, struct rg_storage **ret, struct rg_errinfo *ei);
struct rg_storage *rg_storage_free(struct rg_storage *s);

/* Stores len bytes under key, replacing what was there.  0 or a negative error. */
int rg_storage_put(struct rg_storage *s, const char *key, const void *data, size_t len,
                   const char *content_type, struct rg_errinfo *ei);
/* Appends the object to out (capped by out->max: RG_ETOOBIG).  -ENOENT when absent. */
int rg_storage_get(struct rg_storage *s, const char *key, struct rg_buf *out,
                   struct rg_errinfo *ei);
/* 1 when the object exists, 0 when not, negative on failure. */
int rg_storage_exists(struct rg_storage *s, const char *key, struct rg_errinfo *ei);
/* 0 (also when it did not exist) or a negative error. */
int rg_storage_delete(struct rg_storage *s, const char *key, struct rg_errinfo *ei);

/* Appends key to b percent-encoded per segment with the RFC 3986 unreserved set, "/"
 * kept: the canonical URI S3's SigV4 signs (curl 7.88 signs the path as given). */
int rg_storage_s3_encode_key(struct rg_buf *b, const char *key);

#endif
