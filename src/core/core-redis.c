/* Redis for rg-core over hiredis 0.14: one context per worker thread, bounded waits.
 *
 * hiredis' connect timeout does not cover reads, so every context also gets
 * redisSetTimeout: a stuck Redis costs a request redis_timeout, never a thread.  Errors
 * on a context are sticky, so a failed command drops the context; the next command
 * connects afresh (at most every RECONNECT_MS while Redis stays down). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core.h"
#include "rg/log.h"
#include "rg/mem.h"

#define RECONNECT_MS 200

struct rconn {
    redisContext *rc;
    int64_t next_try_ns;
    int64_t last_log_ns;
};

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static __thread struct rconn *tl;

static void conn_free(void *p)
{
    struct rconn *c = p;
    if (!c)
        return;
    if (c->rc)
        redisFree(c->rc);
    rg_free(c);
}

static void make_key(void)
{
    RG_ASSERT(pthread_key_create(&key, conn_free) == 0);
}

/* redis://host[:port][/db] -> parts.  The URL was checked for the scheme at start-up. */
static void parse_url(char *host, size_t hcap, int *port, int *db)
{
    const char *s = core_cfg->redis_url + 8;
    const char *at = strchr(s, '@'); /* credentials are not supported; skip them */
    if (at)
        s = at + 1;
    size_t hl = strcspn(s, ":/");
    snprintf(host, hcap, "%.*s", (int)hl, s);
    s += hl;
    *port = 6379;
    *db = 0;
    if (*s == ':') {
        *port = (int)strtol(s + 1, NULL, 10);
        s += 1 + strcspn(s + 1, "/");
    }
    if (*s == '/' && s[1])
        *db = (int)strtol(s + 1, NULL, 10);
}

static void log_failure(struct rconn *c, const char *what, const char *msg)
{
    /* While Redis is down every request fails; one line a second per thread is enough. */
    int64_t now = core_now_ns();
    if (now - c->last_log_ns < 1000000000LL)
        return;
    c->last_log_ns = now;
    RG_LOG(RG_LOG_WARN, RG_EVENT(what), RG_KV_STR("req_id", core_req_id_tl), RG_KV_STR("msg", msg));
}

static void drop(struct rconn *c)
{
    if (c->rc)
        redisFree(c->rc);
    c->rc = NULL;
}

static int conn_get(struct rconn **ret)
{
    struct rconn *c = tl;
    char host[256];
    int port, db;

    if (!c) {
        pthread_once(&key_once, make_key);
        c = rg_calloc(1, sizeof *c);
        tl = c;
        (void)pthread_setspecific(key, c);
    }
    if (c->rc && !c->rc->err) {
        *ret = c;
        return 0;
    }
    drop(c);
    int64_t now = core_now_ns();
    if (now < c->next_try_ns)
        return RG_EREDIS;
    parse_url(host, sizeof host, &port, &db);
    struct timeval tv = {core_cfg->redis_timeout_ms / 1000,
                         (core_cfg->redis_timeout_ms % 1000) * 1000};
    c->rc = redisConnectWithTimeout(host, port, tv);
    if (!c->rc || c->rc->err) {
        log_failure(c, "redis.connect_failed", c->rc ? c->rc->errstr : "out of memory");
        drop(c);
        c->next_try_ns = now + (int64_t)RECONNECT_MS * 1000000;
        return RG_EREDIS;
    }
    (void)redisSetTimeout(c->rc, tv);
    (void)redisEnableKeepAlive(c->rc);
    if (db) {
        redisReply *rep = redisCommand(c->rc, "SELECT %d", db);
        int ok = rep && rep->type == REDIS_REPLY_STATUS;
        if (rep)
            freeReplyObject(rep);
        if (!ok) {
            log_failure(c, "redis.select_failed", c->rc->err ? c->rc->errstr : "SELECT refused");
            drop(c);
            return RG_EREDIS;
        }
    }
    *ret = c;
    return 0;
}

int core_redis_argv(int idempotent, redisReply **ret_reply, int argc, const char **argv,
                    const size_t *lens)
{
    struct rconn *c;
    int r;

    for (int attempt = 0; attempt < 2; attempt++) {
        r = conn_get(&c);
        if (r < 0)
            return r;
        redisReply *rep = redisCommandArgv(c->rc, argc, argv, lens);
        if (!rep) {
            /* I/O error or timeout: the context is unusable from now on. */
            log_failure(c, "redis.command_failed", c->rc->errstr);
            drop(c);
            if (idempotent && attempt == 0)
                continue;
            return RG_EREDIS;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            log_failure(c, "redis.error_reply", rep->str);
            freeReplyObject(rep);
            return RG_EREDIS;
        }
        *ret_reply = rep;
        return 0;
    }
    return RG_EREDIS;
}

int core_redis_cmd(int idempotent, redisReply **ret_reply, const char *fmt, ...)
{
    struct rconn *c;
    va_list ap;
    int r;

    for (int attempt = 0; attempt < 2; attempt++) {
        r = conn_get(&c);
        if (r < 0)
            return r;
        va_start(ap, fmt);
        redisReply *rep = redisvCommand(c->rc, fmt, ap);
        va_end(ap);
        if (!rep) {
            log_failure(c, "redis.command_failed", c->rc->errstr);
            drop(c);
            if (idempotent && attempt == 0)
                continue;
            return RG_EREDIS;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            log_failure(c, "redis.error_reply", rep->str);
            freeReplyObject(rep);
            return RG_EREDIS;
        }
        *ret_reply = rep;
        return 0;
    }
    return RG_EREDIS;
}

int core_redis_pipeline(size_t n, const int *argc, const char *const *const *argv, redisReply **ret)
{
    struct rconn *c;
    int r;

    for (int attempt = 0; attempt < 2; attempt++) {
        r = conn_get(&c);
        if (r < 0)
            return r;
        size_t got = 0;
        for (size_t i = 0; i < n; i++)
            (void)redisAppendCommandArgv(c->rc, argc[i], (const char **)argv[i], NULL);
        for (; got < n; got++) {
            void *rep = NULL;
            if (redisGetReply(c->rc, &rep) != REDIS_OK || !rep)
                break;
            ret[got] = rep;
        }
        if (got == n)
            return 0;
        for (size_t i = 0; i < got; i++)
            freeReplyObject(ret[i]);
        log_failure(c, "redis.command_failed", c->rc->errstr);
        drop(c);
    }
    return RG_EREDIS;
}

char *core_rkey(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    size_t pl = (size_t)snprintf(buf, n, "%s", core_cfg->redis_prefix);
    if (pl >= n)
        return buf;
    va_start(ap, fmt);
    vsnprintf(buf + pl, n - pl, fmt, ap);
    va_end(ap);
    return buf;
}

int core_redis_ping(void)
{
    redisReply *rep = NULL;
    int r = core_redis_cmd(1, &rep, "PING");
    if (rep)
        freeReplyObject(rep);
    return r;
}

void core_redis_thread_done(void)
{
    if (tl) {
        (void)pthread_setspecific(key, NULL);
        conn_free(tl);
        tl = NULL;
    }
}
