/* rg-notify configuration (defaults < file < RG_NOTIFY_<KEY> < --set) and small helpers:
 * clocks, SHA-256, shared messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify.h"
#include "rg/mem.h"

#define C struct notify_config
const struct rg_cfg_opt notify_cfg_opts[] = {
    RG_CFG_STR("listen_addr", C, listen_addr, "127.0.0.1", 0, "address of the WebSocket endpoint /ws"),
    RG_CFG_INT("port", C, port, "8082", 1, 65535, 0, "port of the WebSocket endpoint /ws"),
    RG_CFG_STR("metrics_addr", C, metrics_addr, "127.0.0.1", 0, "address of /metrics and /healthz"),
    RG_CFG_INT("metrics_port", C, metrics_port, "8086", 1, 65535, 0, "port of /metrics and /healthz"),
    RG_CFG_STR("pg_url", C, pg_url, NULL, RG_CFG_SECRET, "PostgreSQL URL (RG_PG_URL when not set)"),
    RG_CFG_STR("amqp_url", C, amqp_url, NULL, RG_CFG_SECRET, "RabbitMQ URL (RG_AMQP_URL when not set)"),
    RG_CFG_STR("redis_url", C, redis_url, NULL, RG_CFG_SECRET,
               "Redis URL of rg-core's sessions (RG_REDIS_URL when not set)"),
    RG_CFG_STR("redis_prefix", C, redis_prefix, "", 0,
               "prefix of rg-core's Redis keys (its redis_prefix; RG_CORE_REDIS_PREFIX when not set)"),
    RG_CFG_INT("max_connections", C, max_connections, "16384", 1, 1000000, 0,
               "open sockets per hub; past it a new socket is closed with 1013 (lowered at start "
               "to what the open-file limit allows)"),
    RG_CFG_INT("max_per_user", C, max_per_user, "64", 1, 100000, 0,
               "open sockets per user on this hub; past it 4429"),
    RG_CFG_SIZE("max_message", C, max_message, "4KiB", 64, 1048576, 0,
                "largest message a client may send; past it 1009"),
    RG_CFG_INT("queue_max", C, queue_max, "256", 1, 1000000, 0,
               "messages waiting for one socket; past it the socket is closed with 1008"),
    RG_CFG_SIZE("queue_bytes", C, queue_bytes, "256KiB", 1024, 1073741824, 0,
                "bytes waiting for one socket; past it the socket is closed with 1008"),
    RG_CFG_MS("auth_timeout", C, auth_timeout, "10s", 100, 600000, 0,
              "time a socket has to authenticate; then 4401"),
    RG_CFG_MS("ping_interval", C, ping_interval, "30s", 1000, 3600000, 0,
              "a socket without valid traffic this long is pinged"),
    RG_CFG_MS("idle_timeout", C, idle_timeout, "60s", 1000, 3600000, 0,
              "a socket without valid traffic (pongs count) this long is dropped"),
    RG_CFG_MS("session_recheck", C, session_recheck, "60s", 100, 86400000, 0,
              "open sockets' sessions are looked up again this often (logout closes with 4401)"),
    RG_CFG_MS("close_grace", C, close_grace, "5s", 1000, 600000, 0,
              "a socket closed for 1008 that cannot take the close frame is cut after this"),
    RG_CFG_INT("replay_max", C, replay_max, "500", 1, 100000, 0,
               "notifications replayed at most on reconnect; more answers resync (too_many)"),
    RG_CFG_MS("retention", C, retention, "10080min", 1000, 315360000000LL, 0,
              "notifications older than this are deleted; a since before them answers resync"),
    RG_CFG_MS("prune_interval", C, prune_interval, "60s", 100, 86400000, 0,
              "how often old notifications are deleted"),
    RG_CFG_INT("prefetch", C, prefetch, "1000", 1, 65535, 0, "unacked broker deliveries in flight"),
    RG_CFG_MS("amqp_timeout", C, amqp_timeout, "5s", 100, 600000, 0, "RabbitMQ connect/RPC timeout"),
    RG_CFG_MS("pg_timeout", C, pg_timeout, "5s", 100, 600000, 0,
              "PostgreSQL connect timeout and statement_timeout"),
    RG_CFG_MS("redis_timeout", C, redis_timeout, "2s", 10, 600000, 0, "Redis connect and command timeout"),
    RG_CFG_STR("allowed_origins", C, allowed_origins,
               "http://localhost:8080,https://localhost:8443,http://127.0.0.1:8080", 0,
               "comma-separated Origins allowed for cookie-authenticated sockets (plus the "
               "upgrade request's own Host), as rg-core's allowed_origins"),
    RG_CFG_STR("log_level", C, log_level, "info", 0, "debug, info, warn, error"),
    RG_CFG_END,
};
#undef C

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

int notify_config_load(struct notify_config *cfg, const char *path, const char *const *sets,
                       size_t nsets, struct rg_errinfo *ei)
{
    int r = rg_cfg_load(notify_cfg_opts, cfg, path, "RG_NOTIFY_", sets, nsets, ei);
    if (r < 0)
        return r;
    if (!fallback(&cfg->pg_url, "RG_PG_URL"))
        return rg_errinfo_set(ei, RG_ECONFIG, "pg_url is required (or RG_PG_URL)");
    if (!fallback(&cfg->amqp_url, "RG_AMQP_URL"))
        return rg_errinfo_set(ei, RG_ECONFIG, "amqp_url is required (or RG_AMQP_URL)");
    if (!fallback(&cfg->redis_url, "RG_REDIS_URL"))
        return rg_errinfo_set(ei, RG_ECONFIG, "redis_url is required (or RG_REDIS_URL)");
    (void)fallback(&cfg->redis_prefix, "RG_CORE_REDIS_PREFIX");
    if (cfg->idle_timeout <= cfg->ping_interval)
        return rg_errinfo_set(ei, RG_ECONFIG, "idle_timeout must be longer than ping_interval");
    if (cfg->idle_timeout / 1000 > 65535)
        return rg_errinfo_set(ei, RG_ECONFIG, "idle_timeout must be at most 65535 s");
    return 0;
}

void notify_config_done(struct notify_config *cfg)
{
    rg_cfg_done(notify_cfg_opts, cfg);
}

int64_t notify_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void notify_now_rfc3339(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

struct notify_msg *notify_msg_new(const char *text, size_t len, int64_t uid, int64_t id)
{
    struct notify_msg *m = rg_malloc(sizeof *m + LWS_PRE + len + 1);
    m->next = NULL;
    m->uid = uid;
    m->id = id;
    m->seq = 0;
    m->t_recv_us = 0;
    m->refs = 0;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    m->buf[LWS_PRE + len] = 0;
    return m;
}

void notify_msg_unref(struct notify_msg *m)
{
    if (m && --m->refs <= 0)
        rg_free(m);
}
