/* A tiny HTTP listener for the service endpoints of the daemons (/metrics, /healthz),
 * on libmicrohttpd with one internal thread, plus the Prometheus histogram the daemons
 * share.  The callback runs on the listener's thread.  Nothing here logs. */
#ifndef RG_HTTPD_H
#define RG_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include "rg/buf.h"
#include "rg/err.h"

/* Fills body for a GET of path and returns the HTTP status (the body is sent as
 * text/plain; version=0.0.4). */
typedef int rg_httpd_cb(void *arg, const char *path, struct rg_buf *body);

struct rg_httpd;

/* Listens on addr:port (IPv4 literal).  NULL with ei filled on failure. */
struct rg_httpd *rg_httpd_start(const char *addr, int port, rg_httpd_cb *cb, void *arg,
                                struct rg_errinfo *ei);
/* Stops the thread and closes the socket; NULL-safe; returns NULL. */
struct rg_httpd *rg_httpd_stop(struct rg_httpd *h);

/* Latency histogram with fixed buckets (seconds), updated with atomic adds so it can
 * live in memory shared between processes (rg-pdf's render children). */
#define RG_HIST_NB 14
struct rg_hist {
    uint64_t bucket[RG_HIST_NB]; /* non-cumulative counts per upper bound */
    uint64_t count;
    uint64_t sum_us;
};
void rg_hist_observe(struct rg_hist *h, int64_t us);
/* Appends name_bucket{le=...}, name_sum and name_count lines (labels may be NULL or
 * "key=\"v\"" without braces). */
int rg_hist_write(struct rg_buf *b, const char *name, const char *labels, const struct rg_hist *h);
/* The same without labels, after its "# TYPE name histogram" line. */
int rg_hist_write_typed(struct rg_buf *b, const char *name, const struct rg_hist *h);

/* Whether a browser Origin may act with a user's cookie (CSRF, cross-site WebSocket
 * hijacking): one of `allowed` (comma-separated origins, spaces around them ignored), or
 * the origin of the request itself, "http(s)://" + its Host (the app and the services
 * behind the edge under one host).  host may be NULL or empty: then only the list counts. */
int rg_origin_allowed(const char *allowed, const char *origin, const char *host);

#endif
