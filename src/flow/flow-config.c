/* rg-flow configuration (defaults < file < RG_FLOW_<KEY> < --set) and small helpers:
 * PostgreSQL connections, clocks, fault injection. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flow.h"
#include "rg/log.h"
#include "rg/mem.h"

const struct rg_cfg_opt flow_cfg_opts[] = {
    RG_CFG_STR("listen_addr", struct flow_config, listen_addr, "127.0.0.1", 0,
               "address of /metrics and /healthz"),
    RG_CFG_INT("port", struct flow_config, port, "8084", 1, 65535, 0, "port of /metrics and /healthz"),
    RG_CFG_STR("pg_url", struct flow_config, pg_url, NULL, RG_CFG_SECRET,
               "PostgreSQL URL (RG_PG_URL when not set)"),
    RG_CFG_STR("amqp_url", struct flow_config, amqp_url, NULL, RG_CFG_SECRET,
               "RabbitMQ URL (RG_AMQP_URL when not set)"),
    RG_CFG_STR("replica", struct flow_config, replica, NULL, 0,
               "name written as lease owner (default host:pid)"),
    RG_CFG_MS("retry_base", struct flow_config, retry_base, "1s", 10, 3600000, 0,
              "delay before the first retry; each further retry doubles it (+-20% jitter)"),
    RG_CFG_MS("retry_max", struct flow_config, retry_max, "60s", 10, 86400000, 0,
              "largest retry delay (the last retry queue tier)"),
    RG_CFG_MS("step_timeout", struct flow_config, step_timeout, "120s", 100, 86400000, 0,
              "a dispatched step that has not reported after this is re-dispatched"),
    RG_CFG_MS("reap_interval", struct flow_config, reap_interval, "1s", 10, 600000, 0,
              "how often timed-out steps are looked for"),
    RG_CFG_INT("relay_batch", struct flow_config, relay_batch, "200", 1, 10000, 0,
               "outbox rows published per transaction"),
    RG_CFG_INT("outbox_vacuum", struct flow_config, outbox_vacuum, "2000", 0, 100000000, 0,
               "VACUUM the outbox after this many rows were relayed (0: leave it to autovacuum)"),
    RG_CFG_INT("prefetch", struct flow_config, prefetch, "64", 1, 10000, 0,
               "unacked results per replica"),
    RG_CFG_MS("amqp_timeout", struct flow_config, amqp_timeout, "5s", 100, 600000, 0,
              "connect/handshake/RPC and publisher-confirm timeout"),
    RG_CFG_MS("pg_timeout", struct flow_config, pg_timeout, "5s", 100, 600000, 0,
              "PostgreSQL connect timeout and statement_timeout"),
    RG_CFG_STR("log_level", struct flow_config, log_level, "info", 0, "debug, info, warn, error"),
    RG_CFG_END,
};

static int fallback(char **field, const char *env)
{
    if (*field && **field)
        return 1;
    const char *v = getenv(env);
    if (!v || !*v)
        return 0;
    rg_free(*field);
    *field = rg_strdup(v);
    return 1;
}

int flow_config_load(struct flow_config *cfg, const char *path, const char *const *sets,
                     size_t nsets, struct rg_errinfo *ei)
{
    int r = rg_cfg_load(flow_cfg_opts, cfg, path, "RG_FLOW_", sets, nsets, ei);
    if (r < 0)
        return r;
    if (!fallback(&cfg->pg_url, "RG_PG_URL"))
        return rg_errinfo_set(ei, RG_ECONFIG, "pg_url is required (or RG_PG_URL)");
    if (!fallback(&cfg->amqp_url, "RG_AMQP_URL"))
        return rg_errinfo_set(ei, RG_ECONFIG, "amqp_url is required (or RG_AMQP_URL)");
    if (!cfg->replica || !*cfg->replica) {
        char host[128] = "host";
        (void)gethostname(host, sizeof host - 1);
        rg_free(cfg->replica);
        cfg->replica = rg_asprintf("%s:%ld", host, (long)getpid());
    }
    if (cfg->retry_max < cfg->retry_base)
        return rg_errinfo_set(ei, RG_ECONFIG, "retry_max must be at least retry_base");
    /* Tiers base * 2^k up to retry_max: one retry queue each (rg.retry.<ms>). */
    cfg->ntiers = 0;
    for (int64_t t = cfg->retry_base; t <= cfg->retry_max && cfg->ntiers < FLOW_MAX_TIERS; t *= 2)
        cfg->tiers[cfg->ntiers++] = t;
    return 0;
}

void flow_config_done(struct flow_config *cfg)
{
    rg_cfg_done(flow_cfg_opts, cfg);
}

void flow_pg_notice(void *arg, const char *msg)
{
    char line[FLOW_NOTICE_MAX];
    snprintf(line, sizeof line, "%s", msg);
    line[strcspn(line, "\n")] = 0;
    if (arg)
        memcpy(arg, line, sizeof line);
    RG_LOG(RG_LOG_WARN, RG_EVENT("flow.pg_notice"), RG_KV_STR("msg", line));
}

PGconn *flow_pg_connect(const struct flow_config *cfg, const char *app, char *err, size_t errlen)
{
    char tmo[32], opts[64];
    snprintf(tmo, sizeof tmo, "%lld", (long long)((cfg->pg_timeout + 999) / 1000));
    snprintf(opts, sizeof opts, "-c statement_timeout=%lld", (long long)cfg->pg_timeout);
    const char *keys[] = {"dbname", "connect_timeout", "application_name", "options", NULL};
    const char *vals[] = {cfg->pg_url, tmo, app, opts, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, errlen, "%s", PQerrorMessage(pg));
        err[strcspn(err, "\n")] = 0;
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, flow_pg_notice, NULL);
    return pg;
}

int flow_pg_cmd(PGconn *pg, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int r = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
    if (r < 0) {
        snprintf(err, errlen, "%s", PQerrorMessage(pg));
        err[strcspn(err, "\n")] = 0;
    }
    PQclear(res);
    return r;
}

int64_t flow_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void flow_sleep_ms(int64_t ms, volatile int *stop)
{
    /* In slices, so that a stop request is noticed quickly. */
    while (ms > 0 && !*stop) {
        int64_t s = ms > 50 ? 50 : ms;
        struct timespec ts = {0, (long)s * 1000000L};
        nanosleep(&ts, NULL);
        ms -= s;
    }
}

static char crash_point[64];
static long crash_after;
static long crash_count;

void flow_crash_init(void)
{
    const char *v = getenv("RG_FLOW_CRASH_AT");
    const char *colon = v ? strchr(v, ':') : NULL;
    if (!colon || (size_t)(colon - v) >= sizeof crash_point)
        return;
    memcpy(crash_point, v, (size_t)(colon - v));
    crash_after = strtol(colon + 1, NULL, 10);
}

void flow_crash_point(const char *point)
{
    if (!crash_after || strcmp(point, crash_point))
        return;
    if (__atomic_add_fetch(&crash_count, 1, __ATOMIC_RELAXED) == crash_after) {
        static const char msg[] = "rg-flow: RG_FLOW_CRASH_AT reached, killing myself\n";
        (void)!write(2, msg, sizeof msg - 1);
        raise(SIGKILL);
    }
}
