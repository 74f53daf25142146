/* rg-core's configuration table: every key, its bounds, default and help.  It drives
 * parsing (file, RG_CORE_* environment, --set) and deploy/core.conf.example. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "rg/json.h"
#include "rg/log.h"
#include "rg/mem.h"

#define C struct core_config
#define MIB (1024 * 1024)

const struct rg_cfg_opt core_cfg_opts[] = {
    RG_CFG_STR("listen_addr", C, listen_addr, "127.0.0.1", 0, "address to listen on"),
    RG_CFG_INT("port", C, port, "8081", 1, 65535, 0, "TCP port"),
    RG_CFG_INT("threads", C, threads, "0", 0, 256, 0,
               "worker threads, each with its own epoll, PostgreSQL and Redis connection (0 = 4 "
               "per core)"),
    RG_CFG_SIZE("max_body", C, max_body, "1MiB", 1024, 64 * MIB, 0,
                "largest request body accepted; larger ones get 413"),
    RG_CFG_MS("conn_timeout", C, conn_timeout_ms, "15s", 1000, 3600 * 1000, 0,
              "idle connection timeout: a connection that sends nothing for this long is closed"),
    RG_CFG_MS(
        "request_timeout", C, request_timeout_ms, "30s", 1000, 3600 * 1000, 0,
        "deadline for receiving a whole request (headers and body): trickling senders are cut off"),
    RG_CFG_INT("conn_limit", C, conn_limit, "4096", 16, 1000000, 0, "open connections at most"),
    RG_CFG_INT("per_ip_limit", C, per_ip_limit, "256", 1, 1000000, 0,
               "open connections per client address at most (raise it behind a proxy)"),
    RG_CFG_SIZE("conn_memory", C, conn_memory, "64KiB", 16 * 1024, 16 * MIB, 0,
                "per-connection memory for the request line and headers (cookies included)"),
    RG_CFG_STR("pg_url", C, pg_url, NULL, RG_CFG_SECRET,
               "PostgreSQL URL (required; RG_PG_URL is used when this is not set)"),
    RG_CFG_MS("pg_connect_timeout", C, pg_connect_timeout_ms, "2s", 1000, 60000, 0,
              "PostgreSQL connect timeout"),
    RG_CFG_MS("pg_statement_timeout", C, pg_statement_timeout_ms, "5s", 100, 600000, 0,
              "longest a statement may run"),
    RG_CFG_STR("redis_url", C, redis_url, NULL, RG_CFG_SECRET,
               "Redis URL redis://host:port/db (required; RG_REDIS_URL is used when not set)"),
    RG_CFG_MS("redis_timeout", C, redis_timeout_ms, "250ms", 10, 60000, 0,
              "connect and per-command timeout for Redis"),
    RG_CFG_STR("redis_prefix", C, redis_prefix, "", 0,
               "prefix of every Redis key (lets tests and tenants share a server)"),
    RG_CFG_MS("session_ttl", C, session_ttl_ms, "20160min", 60000, 366LL * 86400 * 1000, 0,
              "sliding session lifetime: each request extends it"),
    RG_CFG_BOOL("cookie_secure", C, cookie_secure, "1", 0,
                "mark the session cookie Secure (browsers accept it on http://localhost too)"),
    RG_CFG_STR("allowed_origins", C, allowed_origins,
               "http://localhost:8080,https://localhost:8443,http://127.0.0.1:8080", 0,
               "comma-separated Origins allowed for cookie-authenticated writes (plus the "
               "request's own Host)"),
    RG_CFG_BOOL("trust_proxy", C, trust_proxy, "0", 0,
                "take the client address from X-Forwarded-For (only behind the edge proxy)"),
    RG_CFG_INT("login_ip_max", C, login_ip_max, "30", 1, 1000000, 0,
               "login attempts per client address per login_window"),
    RG_CFG_INT("login_account_max", C, login_account_max, "10", 1, 1000000, 0,
               "failed logins per account per login_window"),
    RG_CFG_MS("login_window", C, login_window_ms, "15min", 1000, 86400 * 1000, 0,
              "window of the login rate limits"),
    RG_CFG_INT("register_ip_max", C, register_ip_max, "20", 1, 1000000, 0,
               "registrations per client address per login_window"),
    RG_CFG_MS("cache_ttl", C, cache_ttl_ms, "5min", 1000, 86400 * 1000, 0,
              "lifetime of cached resume reads in Redis"),
    RG_CFG_INT("trash_days", C, trash_days, "30", 1, 3650, 0,
               "days a deleted resume stays restorable"),
    RG_CFG_SIZE("argon2_memory", C, argon2_memory, "19MiB", 1 * MIB, 1024LL * MIB, 0,
                "argon2id memory cost (OWASP: 19 MiB with 2 iterations)"),
    RG_CFG_INT("argon2_iterations", C, argon2_iterations, "2", 1, 100, 0, "argon2id time cost"),
    RG_CFG_STR("data_dir", C, data_dir, NULL, 0,
               "where themes/ lives (default: $RG_DATA_DIR, else the build-time data directory)"),
    RG_CFG_STR("log_level", C, log_level, "info", 0, "debug, info, warn or error"),
    RG_CFG_MS("log_flush", C, log_flush_ms, "20ms", 0, 1000, 0,
              "info lines (the access log) are gathered and written at least this often, "
              "warnings and errors at once; 0 writes every line by itself"),
    RG_CFG_INT("preview_max", C, preview_max, "4", 1, 64, 0,
               "live previews (POST /api/v1/preview) queued or being drawn at once (one is drawn "
               "at a time, on a thread of its own); more get 503"),
    RG_CFG_MS("preview_wait", C, preview_wait_ms, "2s", 10, 60000, 0,
              "longest a live preview waits for the renderer before 503"),
    RG_CFG_SIZE("preview_max_body", C, preview_max_body, "256KiB", 1024, 64 * MIB, 0,
                "largest draft a live preview is drawn of (413 beyond; a resume is rarely 50 KiB)"),
    RG_CFG_INT("preview_max_width", C, preview_max_width, "2400", 64, 2400, 0,
               "widest live preview in pixels"),
    RG_CFG_STR("secret_key", C, secret_key, NULL, RG_CFG_SECRET,
               "64 hex digits (32 random bytes, e.g. `openssl rand -hex 32`): encrypts two-factor "
               "secrets at rest (AES-256-GCM); without it two-factor setup is refused (503)"),
    RG_CFG_END,
};

const struct core_config *core_cfg;

static int fallback(char **field, const char *env)
{
    const char *v = getenv(env);
    if (!*field && v && *v)
        *field = rg_strdup(v);
    return *field != NULL;
}

int core_config_load(struct core_config *cfg, const char *path, const char *const *sets,
                     size_t nsets, struct rg_errinfo *ei)
{
    enum rg_log_level lvl;
    int r;

    memset(cfg, 0, sizeof *cfg);
    r = rg_cfg_load(core_cfg_opts, cfg, path, "RG_CORE_", sets, nsets, ei);
    if (r < 0)
        return r;
    if (!fallback(&cfg->pg_url, "RG_PG_URL"))
        return rg_errinfo_set(ei, RG_ECONFIG, "pg_url is required (or RG_PG_URL)");
    if (!fallback(&cfg->redis_url, "RG_REDIS_URL"))
        return rg_errinfo_set(ei, RG_ECONFIG, "redis_url is required (or RG_REDIS_URL)");
    if (strncmp(cfg->redis_url, "redis://", 8) != 0)
        return rg_errinfo_set(ei, RG_ECONFIG, "redis_url must start with redis://");
    if (!cfg->data_dir) {
        const char *d = getenv("RG_DATA_DIR");
        cfg->data_dir = rg_strdup(d && *d ? d : RG_DEFAULT_DATA_DIR);
    }
    if (cfg->secret_key && *cfg->secret_key) {
        const char *h = cfg->secret_key;
        size_t n = strlen(h);
        if (n != 64)
            return rg_errinfo_set(ei, RG_ECONFIG,
                                  "secret_key: %zu characters; it must be 64 hex digits", n);
        for (size_t i = 0; i < 32; i++) {
            unsigned v;
            if (!isxdigit((unsigned char)h[2 * i]) || !isxdigit((unsigned char)h[2 * i + 1]) ||
                sscanf(h + 2 * i, "%2x", &v) != 1)
                return rg_errinfo_set(ei, RG_ECONFIG,
                                      "secret_key: character %zu is not a hex digit", 2 * i + 1);
            cfg->secret_key_bytes[i] = (unsigned char)v;
        }
        cfg->has_secret_key = 1;
    }
    if (rg_log_level_parse(cfg->log_level, &lvl) < 0)
        return rg_errinfo_set(ei, RG_ECONFIG, "log_level: \"%s\" is not debug|info|warn|error",
                              cfg->log_level);
    return 0;
}

void core_config_log(const struct core_config *cfg)
{
    struct rg_buf b;

    rg_buf_init(&b, 3500);
    (void)rg_buf_putc(&b, '{');
    for (const struct rg_cfg_opt *o = core_cfg_opts; o->key; o++) {
        const char *field = (const char *)cfg + o->offset;
        (void)rg_buf_printf(&b, "%s\"%s\":", o == core_cfg_opts ? "" : ",", o->key);
        if (o->type == RG_CFG_T_STR) {
            const char *s = *(char *const *)field;
            if (!s)
                (void)rg_buf_puts(&b, "null");
            else if (o->flags & RG_CFG_SECRET)
                (void)rg_buf_puts(&b, "\"***\"");
            else
                (void)rg_json_quote(&b, s, strlen(s));
        } else if (o->type == RG_CFG_T_BOOL) {
            (void)rg_buf_puts(&b, *(const int *)field ? "true" : "false");
        } else {
            (void)rg_buf_printf(&b, "%lld", (long long)*(const int64_t *)field);
        }
    }
    (void)rg_buf_putc(&b, '}');
    RG_LOG(RG_LOG_INFO, RG_EVENT("core.config"), RG_KV_STR("config", b.ptr ? b.ptr : ""));
    rg_buf_done(&b);
}
