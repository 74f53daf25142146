/* rg-flow: the workflow orchestrator (docs/flow.md).  Internal interface of src/flow/. */
#ifndef FLOW_H
#define FLOW_H

#include <libpq-fe.h>
#include <stdint.h>

#include "rg/cfg.h"
#include "rg/err.h"
#include "rg/httpd.h"

#define FLOW_MAX_TIERS 24

struct flow_config {
    char *listen_addr;
    int64_t port;
    char *pg_url;          /* RG_PG_URL when not set */
    char *amqp_url;        /* RG_AMQP_URL when not set */
    char *replica;         /* lease owner name; default host:pid */
    int64_t retry_base;    /* ms: first retry delay (tier 0) */
    int64_t retry_max;     /* ms: largest retry tier */
    int64_t step_timeout;  /* ms: a dispatched step must report within this */
    int64_t reap_interval; /* ms */
    int64_t relay_batch;
    int64_t outbox_vacuum; /* rows relayed between VACUUMs of the outbox; 0 = autovacuum only */
    int64_t prefetch;      /* results in flight per replica */
    int64_t amqp_timeout;  /* ms */
    int64_t pg_timeout;    /* ms: connect timeout and statement_timeout */
    char *log_level;
    /* derived */
    int64_t tiers[FLOW_MAX_TIERS];
    size_t ntiers;
};

extern const struct rg_cfg_opt flow_cfg_opts[];
int flow_config_load(struct flow_config *cfg, const char *path, const char *const *sets,
                     size_t nsets, struct rg_errinfo *ei);
void flow_config_done(struct flow_config *cfg);

struct flow_stats {
    uint64_t published, published_notify_unrouted, publish_failures, dispatched;
    uint64_t results_done, results_retry, results_failed, results_duplicate, results_stale,
        results_unknown, results_malformed;
    uint64_t reaped, pg_reconnects, amqp_reconnects, outbox_vacuums;
    int64_t depth_render, depth_results, depth_dead, outbox_backlog;
    int64_t runs_queued, runs_running, runs_done, runs_failed;
    uint64_t relay_ok, results_ok; /* 1 while the loop is connected */
    struct rg_hist run_latency, render, relay_batch;
};

#define FLOW_STAT_ADD(st, f, n) __atomic_add_fetch(&(st)->f, (n), __ATOMIC_RELAXED)
#define FLOW_STAT_SET(st, f, v) __atomic_store_n(&(st)->f, (v), __ATOMIC_RELAXED)

struct flow_ctx {
    const struct flow_config *cfg;
    struct flow_stats *stats;
    volatile int *stop;
};

/* Both loops run until *ctx->stop, reconnecting to PostgreSQL and RabbitMQ as needed. */
void *flow_relay_main(void *ctx);   /* outbox relay, reaper, gauges */
void *flow_results_main(void *ctx); /* rg.results consumer */

/* PostgreSQL helpers (flow-pg.c).  flow_pg_connect returns NULL when it cannot connect. */
PGconn *flow_pg_connect(const struct flow_config *cfg, const char *app, char *err, size_t errlen);
/* libpq's notice processor of every rg-flow session: a server's NOTICE or WARNING becomes
 * a JSON log line (libpq would print it bare on stderr).  arg: NULL, or a char buffer of
 * FLOW_NOTICE_MAX bytes that keeps the last one (flow_pg_connect sets it with NULL). */
#define FLOW_NOTICE_MAX 256
void flow_pg_notice(void *arg, const char *msg);
/* Runs a command; 0, or -1 with the message in err. */
int flow_pg_cmd(PGconn *pg, const char *sql, char *err, size_t errlen);
/* Milliseconds since an arbitrary start (monotonic). */
int64_t flow_now_ms(void);
void flow_sleep_ms(int64_t ms, volatile int *stop);

/* Fault injection for the crash tests: RG_FLOW_CRASH_AT=<point>:<n> kills the process
 * (SIGKILL, no clean-up) the n-th time it passes <point>.  Points: relay_before_publish,
 * relay_after_publish (published and confirmed, not yet marked), result_before_commit,
 * result_after_commit (committed, not yet acked). */
void flow_crash_init(void);
void flow_crash_point(const char *point);

#endif
