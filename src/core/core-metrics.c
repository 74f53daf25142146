/* Request counters and latency histograms per route and status, in Prometheus text.
 *
 * The label space is fixed (route table x a list of statuses), so the counters live in
 * one static array updated with relaxed atomics: no lock on the request path. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "rg/mem.h"

static const unsigned statuses[] = {0,   200, 201, 204, 304, 400, 401, 403, 404, 405,
                                    409, 412, 413, 415, 422, 428, 429, 500, 503, 999};
#define NSTATUS RG_ARRAY_SIZE(statuses)
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBUCKET RG_ARRAY_SIZE(buckets)
#define MAX_ROUTES 64 /* last slot: requests that matched no route */

struct series {
    _Atomic uint64_t count;
    _Atomic uint64_t sum_us;
    _Atomic uint64_t bucket[NBUCKET]; /* non-cumulative; summed when rendered */
};

static struct series table[MAX_ROUTES][NSTATUS];

static size_t status_index(unsigned s)
{
    for (size_t i = 0; i < NSTATUS - 1; i++)
        if (statuses[i] == s)
            return i;
    return NSTATUS - 1; /* "other" */
}

void core_metrics_observe(int route, unsigned status, double seconds)
{
    RG_ASSERT(core_nroutes < MAX_ROUTES);
    size_t r = route < 0 ? MAX_ROUTES - 1 : (size_t)route;
    struct series *s = &table[r][status_index(status)];
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, (uint64_t)(seconds * 1e6), memory_order_relaxed);
    for (size_t b = 0; b < NBUCKET; b++)
        if (seconds <= buckets[b]) {
            atomic_fetch_add_explicit(&s->bucket[b], 1, memory_order_relaxed);
            break;
        }
}

int core_metrics_render(struct rg_buf *out)
{
    int r = 0;

    r |= rg_buf_puts(
        out, "# HELP rg_core_http_requests_total HTTP requests by route, method and status.\n"
             "# TYPE rg_core_http_requests_total counter\n");
    for (size_t i = 0; i < MAX_ROUTES; i++) {
        if (i >= core_nroutes && i != MAX_ROUTES - 1)
            continue;
        const char *path = i < core_nroutes ? core_routes[i].path : "unmatched";
        const char *method = i < core_nroutes ? core_routes[i].method : "";
        for (size_t s = 0; s < NSTATUS; s++) {
            uint64_t n = atomic_load_explicit(&table[i][s].count, memory_order_relaxed);
            if (n)
                r |= rg_buf_printf(
                    out,
                    "rg_core_http_requests_total{route=\"%s\",method=\"%s\",status=\"%u\"} %llu\n",
                    path, method, statuses[s], (unsigned long long)n);
        }
    }
    r |= rg_buf_puts(
        out,
        "# HELP rg_core_http_request_duration_seconds Time from the request headers to the reply.\n"
        "# TYPE rg_core_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < MAX_ROUTES; i++) {
        if (i >= core_nroutes && i != MAX_ROUTES - 1)
            continue;
        const char *path = i < core_nroutes ? core_routes[i].path : "unmatched";
        const char *method = i < core_nroutes ? core_routes[i].method : "";
        for (size_t s = 0; s < NSTATUS; s++) {
            struct series *se = &table[i][s];
            uint64_t n = atomic_load_explicit(&se->count, memory_order_relaxed);
            if (!n)
                continue;
            char labels[200];
            snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",status=\"%u\"", path,
                     method, statuses[s]);
            uint64_t cum = 0;
            for (size_t b = 0; b < NBUCKET; b++) {
                cum += atomic_load_explicit(&se->bucket[b], memory_order_relaxed);
                r |= rg_buf_printf(
                    out, "rg_core_http_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n",
                    labels, buckets[b], (unsigned long long)cum);
            }
            r |=
                rg_buf_printf(out,
                              "rg_core_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n"
                              "rg_core_http_request_duration_seconds_sum{%s} %.6f\n"
                              "rg_core_http_request_duration_seconds_count{%s} %llu\n",
                              labels, (unsigned long long)n, labels,
                              (double)atomic_load_explicit(&se->sum_us, memory_order_relaxed) / 1e6,
                              labels, (unsigned long long)n);
        }
    }
    return r ? RG_ETOOBIG : 0;
}
