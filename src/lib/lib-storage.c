/* Object storage: a local folder or S3 (see include/rg/storage.h).
 *
 * S3 goes through curl 7.88's CURLOPT_AWS_SIGV4, which is wrong for S3 in ways verified
 * in SYSTEM-NOTES §6.1, so this file: sets x-amz-content-sha256 itself (curl would not
 * send it, and would sign sha256("") for uploads); percent-encodes each key segment
 * (curl signs the path exactly as given); sends no query strings; names the provider
 * "aws:amz:<region>:s3" explicitly; uses path-style URLs. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rg/digest.h"
#include "rg/mem.h"
#include "rg/storage.h"

#define S3_TIMEOUT_MS 30000L
#define S3_CONNECT_TIMEOUT_MS 5000L

struct rg_storage {
    char *root;       /* fs: folder */
    char *endpoint;   /* s3: http(s)://host:port, no trailing slash */
    char *bucket;
    char *sigv4;      /* "aws:amz:<region>:s3" */
    char *userpwd;    /* access:secret, wiped on free */
    CURL *curl;
};

static int key_valid(const char *key)
{
    if (!key || !*key || *key == '/')
        return 0;
    for (const char *seg = key; *seg;) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        seg += n + (end ? 1 : 0);
        if (end && !*seg)
            return 0; /* trailing slash */
    }
    return 1;
}

int rg_storage_s3_encode_key(struct rg_buf *b, const char *key)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        int r;
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~' || *p == '/') {
            r = rg_buf_putc(b, (char)*p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            r = rg_buf_append(b, e, 3);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

/* Value of query parameter name in q ("a=b&c=d"), copied; NULL when absent. */
static char *query_param(const char *q, const char *name)
{
    size_t nl = strlen(name);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > nl && !strncmp(q, name, nl) && q[nl] == '=')
            return rg_strndup(q + nl + 1, len - nl - 1);
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* Reads RG_S3_<NAME>, else the first line of the file named by RG_S3_<NAME>_FILE. */
static char *secret_env(const char *name)
{
    char var[64];
    snprintf(var, sizeof var, "RG_S3_%s", name);
    const char *v = getenv(var);
    if (v && *v)
        return rg_strdup(v);
    snprintf(var, sizeof var, "RG_S3_%s_FILE", name);
    v = getenv(var);
    if (!v || !*v)
        return NULL;
    struct rg_buf b;
    rg_buf_init(&b, 4096);
    if (rg_buf_read_file(&b, v) < 0) {
        rg_buf_done(&b);
        return NULL;
    }
    b.ptr[strcspn(b.ptr, "\r\n")] = 0;
    return rg_buf_take(&b, NULL);
}

int rg_storage_open(const char *url, struct rg_storage **ret, struct rg_errinfo *ei)
{
    struct rg_storage *s = NULL;
    char *region = NULL, *ak = NULL, *sk = NULL;
    int r;

    if (!url || !*url)
        return rg_errinfo_set(ei, -EINVAL, "no storage URL");
    s = rg_calloc(1, sizeof *s);
    if (!strncmp(url, "fs://", 5)) {
        if (url[5] != '/') {
            r = rg_errinfo_set(ei, -EINVAL, "fs:// needs an absolute path (fs:///var/...)");
            goto out;
        }
        s->root = rg_strdup(url + 5);
        size_t n = strlen(s->root);
        while (n > 1 && s->root[n - 1] == '/')
            s->root[--n] = 0;
    } else if (!strncmp(url, "s3://", 5)) {
        const char *b = url + 5, *q = strchr(b, '?');
        size_t bl = q ? (size_t)(q - b) : strlen(b);
        if (bl == 0 || memchr(b, '/', bl)) {
            r = rg_errinfo_set(ei, -EINVAL, "s3:// needs a bucket name: s3://bucket?endpoint=...");
            goto out;
        }
        s->bucket = rg_strndup(b, bl);
        s->endpoint = q ? query_param(q + 1, "endpoint") : NULL;
        region = q ? query_param(q + 1, "region") : NULL;
        if (!s->endpoint || strncmp(s->endpoint, "http", 4)) {
            r = rg_errinfo_set(ei, -EINVAL, "s3:// needs endpoint=http(s)://host:port");
            goto out;
        }
        size_t n = strlen(s->endpoint);
        while (n > 0 && s->endpoint[n - 1] == '/')
            s->endpoint[--n] = 0;
        ak = secret_env("ACCESS_KEY");
        sk = secret_env("SECRET_KEY");
        if (!ak || !sk) {
            r = rg_errinfo_set(ei, RG_ECONFIG, "S3 storage needs RG_S3_ACCESS_KEY and RG_S3_SECRET_KEY");
            goto out;
        }
        s->userpwd = rg_asprintf("%s:%s", ak, sk);
        s->sigv4 = rg_asprintf("aws:amz:%s:s3", region ? region : "us-east-1");
        s->curl = curl_easy_init();
        if (!s->curl) {
            r = rg_errinfo_set(ei, RG_ECONFIG, "curl_easy_init failed");
            goto out;
        }
    } else {
        r = rg_errinfo_set(ei, -EINVAL, "storage URL must start with fs:// or s3://");
        goto out;
    }
    *ret = s;
    s = NULL;
    r = 0;
out:
    rg_storage_free(s);
    rg_free(region);
    rg_free(ak);
    if (sk)
        rg_memzero(sk, strlen(sk));
    rg_free(sk);
    return r;
}

struct rg_storage *rg_storage_free(struct rg_storage *s)
{
    if (!s)
        return NULL;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    if (s->userpwd)
        rg_memzero(s->userpwd, strlen(s->userpwd));
    rg_free(s->userpwd);
    rg_free(s->root);
    rg_free(s->endpoint);
    rg_free(s->bucket);
    rg_free(s->sigv4);
    return rg_free(s);
}

/* ---- local folder ---------------------------------------------------------------- */

static int mkdirs_for(char *path)
{
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = 0;
        int r = mkdir(path, 0755);
        *p = '/';
        if (r < 0 && errno != EEXIST)
            return -errno;
    }
    return 0;
}

static int fs_put(struct rg_storage *s, const char *key, const void *data, size_t len,
                  struct rg_errinfo *ei)
{
    char *path = rg_asprintf("%s/%s", s->root, key);
    char *tmp = rg_asprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = -1, r;

    if ((r = mkdirs_for(path)) < 0) {
        rg_errinfo_set(ei, r, "mkdir for %s: %s", key, strerror(-r));
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        r = rg_errinfo_set(ei, -errno, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, (const char *)data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            r = rg_errinfo_set(ei, -errno, "write %s: %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    /* fsync before rename: a crash must never leave a published key with short bytes. */
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        r = rg_errinfo_set(ei, -errno, "fsync %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        r = rg_errinfo_set(ei, -errno, "rename to %s: %s", path, strerror(errno));
        goto out;
    }
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    if (r < 0)
        (void)unlink(tmp);
    rg_free(tmp);
    rg_free(path);
    return r;
}

/* ---- S3 ---------------------------------------------------------------------------- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct rg_buf *b = arg;
    if (rg_buf_append(b, ptr, size * nmemb) < 0)
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    return size * nmemb;
}

/* One request: method on key with an optional body; the response body goes to out
 * (may be NULL: discarded into a small capped buffer).  Returns the HTTP status or a
 * negative error. */
static int s3_request(struct rg_storage *s, const char *method, const char *key, const void *data,
                      size_t len, const char *content_type, struct rg_buf *out,
                      struct rg_errinfo *ei)
{
    struct rg_buf url, scratch;
    struct curl_slist *hdrs = NULL;
    char hash[65], *h = NULL;
    long status = 0;
    CURLcode cc;
    int r;

    rg_buf_init(&url, 8192);
    rg_buf_init(&scratch, 64 * 1024);
    if (rg_buf_printf(&url, "%s/%s/", s->endpoint, s->bucket) < 0 ||
        rg_storage_s3_encode_key(&url, key) < 0) {
        r = rg_errinfo_set(ei, RG_ETOOBIG, "object key too long");
        goto out;
    }
    rg_sha256_hex(data ? data : "", data ? len : 0, hash);
    h = rg_asprintf("x-amz-content-sha256: %s", hash);
    hdrs = curl_slist_append(hdrs, h);
    if (content_type) {
        char *ct = rg_asprintf("Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, ct);
        rg_free(ct);
    }
    /* No "Expect:" override: curl 7.88 would put the empty header into SignedHeaders and
     * the server computes another signature (verified against s3rver). */

    CURL *c = s->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url.ptr);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
    curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, S3_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, S3_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out ? out : &scratch);
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(method, "PUT")) {
        /* POSTFIELDS with a custom method: curl hashes nothing itself once
         * x-amz-content-sha256 is given, and the body goes out as is. */
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, data ? data : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "GET")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        r = rg_errinfo_set(ei, cc == CURLE_WRITE_ERROR ? RG_ETOOBIG : -EIO, "S3 %s %s: %s",
                           method, key, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    r = (int)status;
    if (status >= 300 && status != 404)
        rg_errinfo_set(ei, -EIO, "S3 %s %s: HTTP %ld %.200s", method, key, status,
                       out ? "" : scratch.ptr ? scratch.ptr : "");
out:
    curl_slist_free_all(hdrs);
    rg_free(h);
    rg_buf_done(&url);
    rg_buf_done(&scratch);
    return r;
}

/* ---- front doors --------------------------------------------------------------------- */

int rg_storage_put(struct rg_storage *s, const char *key, const void *data, size_t len,
                   const char *content_type, struct rg_errinfo *ei)
{
    if (!key_valid(key))
        return rg_errinfo_set(ei, -EINVAL, "invalid object key");
    if (s->root)
        return fs_put(s, key, data, len, ei);
    int st = s3_request(s, "PUT", key, data, len, content_type, NULL, ei);
    if (st < 0)
        return st;
    return st >= 200 && st < 300 ? 0 : -EIO;
}

int rg_storage_get(struct rg_storage *s, const char *key, struct rg_buf *out,
                   struct rg_errinfo *ei)
{
    if (!key_valid(key))
        return rg_errinfo_set(ei, -EINVAL, "invalid object key");
    if (s->root) {
        char *path = rg_asprintf("%s/%s", s->root, key);
        int r = rg_buf_read_file(out, path);
        if (r < 0 && r != RG_ETOOBIG)
            rg_errinfo_set(ei, r, "%s: %s", key, strerror(-r));
        rg_free(path);
        return r;
    }
    size_t before = out->len;
    int st = s3_request(s, "GET", key, NULL, 0, NULL, out, ei);
    if (st < 0)
        return st;
    if (st < 200 || st >= 300) {
        out->len = before; /* an error document is not the object */
        if (out->ptr)
            out->ptr[before] = 0;
        return st == 404 ? rg_errinfo_set(ei, -ENOENT, "%s: no such object", key) : -EIO;
    }
    return 0;
}

int rg_storage_exists(struct rg_storage *s, const char *key, struct rg_errinfo *ei)
{
    if (!key_valid(key))
        return rg_errinfo_set(ei, -EINVAL, "invalid object key");
    if (s->root) {
        char *path = rg_asprintf("%s/%s", s->root, key);
        struct stat st;
        int r = stat(path, &st) == 0 ? 1 : errno == ENOENT ? 0 : -errno;
        rg_free(path);
        return r;
    }
    int st = s3_request(s, "HEAD", key, NULL, 0, NULL, NULL, ei);
    if (st < 0)
        return st;
    return st == 404 ? 0 : st >= 200 && st < 300 ? 1 : -EIO;
}

int rg_storage_delete(struct rg_storage *s, const char *key, struct rg_errinfo *ei)
{
    if (!key_valid(key))
        return rg_errinfo_set(ei, -EINVAL, "invalid object key");
    if (s->root) {
        char *path = rg_asprintf("%s/%s", s->root, key);
        int r = unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
        rg_free(path);
        return r;
    }
    int st = s3_request(s, "DELETE", key, NULL, 0, NULL, NULL, ei);
    if (st < 0)
        return st;
    return (st >= 200 && st < 300) || st == 404 ? 0 : -EIO;
}
