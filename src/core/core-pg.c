/* PostgreSQL for rg-core: one connection per worker thread, prepared statements, and
 * reconnection without a restart.
 *
 * A libpq connection may be used by one thread at a time, and MHD's workers are long-lived,
 * so each keeps its own in thread-local storage (closed by a pthread key destructor when
 * the thread ends).  Statements are prepared on first use per connection and again after a
 * reconnect (prepared statements die with their session).  While the server is down each
 * thread tries to connect at most every RECONNECT_MS, so requests fail fast with 503
 * instead of queueing behind connect timeouts. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "rg/log.h"
#include "rg/mem.h"

#define RECONNECT_MS 200
#define MAX_STMTS 128

struct pgconn {
    PGconn *pg;
    int64_t next_try_ns;
    const struct core_stmt *prepared[MAX_STMTS];
    size_t nprepared;
};

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static __thread struct pgconn *tl;

static void conn_free(void *p)
{
    struct pgconn *c = p;
    if (!c)
        return;
    PQfinish(c->pg);
    rg_free(c);
}

static void make_key(void)
{
    RG_ASSERT(pthread_key_create(&key, conn_free) == 0);
}

static void conn_close(struct pgconn *c)
{
    PQfinish(c->pg);
    c->pg = NULL;
    c->nprepared = 0;
}

/* Ensures this thread has a live connection.  0 or -EAGAIN. */
static int conn_get(struct pgconn **ret)
{
    struct pgconn *c = tl;
    char timeout[24], options[64];

    if (!c) {
        pthread_once(&key_once, make_key);
        c = rg_calloc(1, sizeof *c);
        tl = c;
        (void)pthread_setspecific(key, c);
    }
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK) {
        *ret = c;
        return 0;
    }
    if (c->pg)
        conn_close(c);
    int64_t now = core_now_ns();
    if (now < c->next_try_ns)
        return -EAGAIN;
    snprintf(timeout, sizeof timeout, "%lld",
             (long long)((core_cfg->pg_connect_timeout_ms + 999) / 1000));
    snprintf(options, sizeof options, "-c statement_timeout=%lld",
             (long long)core_cfg->pg_statement_timeout_ms);
    const char *keys[] = {"dbname", "connect_timeout", "application_name", "options", NULL};
    const char *vals[] = {core_cfg->pg_url, timeout, "rg-core", options, NULL};
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c->pg));
        msg[strcspn(msg, "\n")] = '\0';
        RG_LOG(RG_LOG_WARN, RG_EVENT("pg.connect_failed"), RG_KV_STR("req_id", core_req_id_tl),
               RG_KV_STR("msg", msg));
        conn_close(c);
        c->next_try_ns = now + (int64_t)RECONNECT_MS * 1000000;
        return -EAGAIN;
    }
    RG_LOG(RG_LOG_DEBUG, RG_EVENT("pg.connected"));
    *ret = c;
    return 0;
}

static int prepare(struct pgconn *c, const struct core_stmt *st)
{
    for (size_t i = 0; i < c->nprepared; i++)
        if (c->prepared[i] == st)
            return 0;
    RG_ASSERT(c->nprepared < MAX_STMTS);
    PGresult *res = PQprepare(c->pg, st->name, st->sql, st->nparams, NULL);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok && PQstatus(c->pg) == CONNECTION_OK) {
        /* A bug in our SQL, not an outage. */
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(res));
        msg[strcspn(msg, "\n")] = '\0';
        RG_LOG(RG_LOG_ERROR, RG_EVENT("pg.prepare_failed"), RG_KV_STR("stmt", st->name),
               RG_KV_STR("msg", msg));
        PQclear(res);
        return RG_EPG;
    }
    PQclear(res);
    if (!ok)
        return -EAGAIN;
    c->prepared[c->nprepared++] = st;
    return 0;
}

int core_pg_exec(const struct core_stmt *st, const char *const *params, PGresult **ret_res)
{
    struct pgconn *c;
    PGresult *res = NULL;
    int r;

    for (int attempt = 0; attempt < 2; attempt++) {
        r = conn_get(&c);
        if (r < 0)
            return r;
        r = prepare(c, st);
        if (r == RG_EPG)
            return r;
        if (r == 0) {
            res = PQexecPrepared(c->pg, st->name, st->nparams, params, NULL, NULL, 0);
            ExecStatusType s = PQresultStatus(res);
            if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
                *ret_res = res;
                return 0;
            }
        }
        if (PQstatus(c->pg) != CONNECTION_OK) {
            /* The server went away (restart, failover): reconnect, and repeat the statement
             * only when running it twice cannot do harm. */
            PQclear(res);
            res = NULL;
            conn_close(c);
            RG_LOG(RG_LOG_WARN, RG_EVENT("pg.connection_lost"), RG_KV_STR("req_id", core_req_id_tl),
                   RG_KV_STR("stmt", st->name));
            if (!st->idempotent)
                return -EAGAIN;
            continue;
        }
        break;
    }
    if (!res)
        return -EAGAIN;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state && strcmp(state, "23505") == 0)
        r = -EEXIST;
    else if (state && (strcmp(state, "22P02") == 0 || strcmp(state, "22003") == 0))
        r = -EINVAL; /* invalid text representation / out of range: bad input, not a fault */
    else if (state && (strncmp(state, "57P", 3) == 0 || strncmp(state, "08", 2) == 0 ||
                       strcmp(state, "57014") == 0 || strncmp(state, "40", 2) == 0))
        r = -EAGAIN; /* shutdown, connection trouble, statement timeout, serialization
                      * failure or deadlock: the client may retry (503 + Retry-After) */
    else
        r = RG_EPG;
    if (r == RG_EPG || r == -EAGAIN) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(res));
        msg[strcspn(msg, "\n")] = '\0';
        RG_LOG(RG_LOG_WARN, RG_EVENT("pg.error"), RG_KV_STR("req_id", core_req_id_tl),
               RG_KV_STR("stmt", st->name), RG_KV_STR("sqlstate", state ? state : ""),
               RG_KV_STR("msg", msg));
    }
    PQclear(res);
    return r;
}

int core_pg_ping(void)
{
    static const struct core_stmt ping = {"ping", "SELECT 1", 0, 1};
    PGresult *res = NULL;
    int r = core_pg_exec(&ping, NULL, &res);
    PQclear(res);
    return r;
}

void core_pg_thread_done(void)
{
    if (tl) {
        (void)pthread_setspecific(key, NULL);
        conn_free(tl);
        tl = NULL;
    }
}
