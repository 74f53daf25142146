/* PostgreSQL for rg-core: one connection per worker thread, prepared statements, and
 * reconnection without a restart.
 *
 * A libpq connection may be used by one thread at a time, and MHD's workers are long-lived,
 * so each keeps its own in thread-local storage (closed by a pthread key destructor when
 * the thread ends).  Statements are prepared on first use per connection and again after a
 * reconnect (prepared statements die with their session).  While the server is down each
 * thread tries to connect at most every RECONNECT_MS, so requests fail fast with 503
 * instead of queueing behind connect timeouts.
 *
 * Client-side deadlines.  statement_timeout is enforced by the server, so a server that
 * cannot answer at all (frozen by SIGSTOP, swapped out, a dead host without a RST) would
 * hold a worker thread for ever inside a blocking libpq call, and with all workers stuck
 * even /healthz stops answering.  So nothing here blocks: connecting uses
 * PQconnectStartParams/PQconnectPoll and statements PQsendPrepare/PQsendQueryPrepared,
 * each waited for with poll() until one deadline per call (pg_statement_timeout plus
 * DEADLINE_SLACK_MS: the server's own timeout normally fires first and says so).  Past
 * the deadline the connection is dropped and the caller gets -EAGAIN (503 + Retry-After).
 * Dropping rather than PQcancel: PQcancel in libpq 15 is blocking (it connects to the
 * postmaster and waits for it to close), which is exactly what cannot answer here; the
 * closed socket plus the server-side statement_timeout end the query.  TCP keepalives and
 * tcp_user_timeout in the connection parameters let the kernel notice a dead peer too. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "rg/log.h"
#include "rg/mem.h"

#define RECONNECT_MS 200
#define DEADLINE_SLACK_MS 500
#define PING_TIMEOUT_MS 500
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

/* Waits until the socket of pg is ready for what `want` asks (POLLIN/POLLOUT) or the
 * deadline passes.  1 = ready, 0 = deadline passed, -1 = poll failed. */
static int wait_sock(PGconn *pg, short want, int64_t deadline_ns)
{
    int fd = PQsocket(pg);
    if (fd < 0)
        return -1;
    for (;;) {
        int64_t left = deadline_ns - core_now_ns();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = want};
        int n = poll(&p, 1, (int)((left + 999999) / 1000000));
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

/* Ensures this thread has a live connection, connecting within the connect timeout and
 * the caller's deadline.  0 or -EAGAIN. */
static int conn_get(struct pgconn **ret, int64_t deadline_ns)
{
    struct pgconn *c = tl;
    char timeout[24], options[64], user_timeout[24];
    const char *why = NULL;

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
    int64_t until = now + core_cfg->pg_connect_timeout_ms * 1000000;
    if (until > deadline_ns)
        until = deadline_ns;
    snprintf(timeout, sizeof timeout, "%lld",
             (long long)((core_cfg->pg_connect_timeout_ms + 999) / 1000));
    snprintf(options, sizeof options, "-c statement_timeout=%lld",
             (long long)core_cfg->pg_statement_timeout_ms);
    /* Unacknowledged data past the statement deadline means the peer is gone. */
    snprintf(user_timeout, sizeof user_timeout, "%lld",
             (long long)(core_cfg->pg_statement_timeout_ms + DEADLINE_SLACK_MS));
    const char *keys[] = {"dbname",    "connect_timeout", "application_name", "options",
                          "keepalives", "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "tcp_user_timeout", NULL};
    const char *vals[] = {core_cfg->pg_url, timeout, "rg-core", options, "1", "10", "5", "3",
                          user_timeout, NULL};
    c->pg = PQconnectStartParams(keys, vals, 1);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
        why = "connect failed";
    } else {
        /* PQconnectPoll's protocol: wait for writable first, then as it says. */
        PostgresPollingStatusType st = PGRES_POLLING_WRITING;
        while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
            int w = wait_sock(c->pg, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, until);
            if (w <= 0) {
                why = "connect timed out";
                break;
            }
            st = PQconnectPoll(c->pg);
        }
        if (!why && st == PGRES_POLLING_FAILED)
            why = "connect failed";
    }
    if (!why && PQsetnonblocking(c->pg, 1) != 0)
        why = "could not switch to non-blocking mode";
    if (why) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", c->pg ? PQerrorMessage(c->pg) : "out of memory");
        msg[strcspn(msg, "\n")] = '\0';
        RG_LOG(RG_LOG_WARN, RG_EVENT("pg.connect_failed"), RG_KV_STR("req_id", core_req_id_tl),
               RG_KV_STR("why", why), RG_KV_STR("msg", msg));
        conn_close(c);
        c->next_try_ns = core_now_ns() + (int64_t)RECONNECT_MS * 1000000;
        return -EAGAIN;
    }
    RG_LOG(RG_LOG_DEBUG, RG_EVENT("pg.connected"));
    *ret = c;
    return 0;
}

/* Waits for the result of the command sent last on c, within the deadline.  Returns the
 * last result (caller PQclear()s; NULL when the connection broke), or sets *ret_timeout
 * and returns NULL when the deadline passed (the connection is then unusable: a result
 * is still owed, so the caller drops it). */
static PGresult *await_result(struct pgconn *c, int64_t deadline_ns, int *ret_timeout)
{
    PGresult *last = NULL, *res;

    *ret_timeout = 0;
    for (;;) {
        int f = PQflush(c->pg);
        if (f < 0)
            goto broken;
        if (f == 0)
            break;
        int w = wait_sock(c->pg, POLLOUT | POLLIN, deadline_ns);
        if (w == 0)
            goto timeout;
        if (w < 0 || (PQconsumeInput(c->pg) == 0))
            goto broken;
    }
    for (;;) {
        while (PQisBusy(c->pg)) {
            int w = wait_sock(c->pg, POLLIN, deadline_ns);
            if (w == 0)
                goto timeout;
            if (w < 0 || PQconsumeInput(c->pg) == 0)
                goto broken;
        }
        res = PQgetResult(c->pg);
        if (!res)
            return last;
        PQclear(last);
        last = res;
    }
timeout:
    *ret_timeout = 1;
broken:
    PQclear(last);
    return NULL;
}

/* 0, RG_EPG (our SQL is wrong), -EAGAIN (connection trouble), -ETIMEDOUT (deadline). */
static int prepare(struct pgconn *c, const struct core_stmt *st, int64_t deadline_ns)
{
    int timed_out = 0;
    PGresult *res = NULL;

    for (size_t i = 0; i < c->nprepared; i++)
        if (c->prepared[i] == st)
            return 0;
    RG_ASSERT(c->nprepared < MAX_STMTS);
    if (PQsendPrepare(c->pg, st->name, st->sql, st->nparams, NULL))
        res = await_result(c, deadline_ns, &timed_out);
    if (timed_out)
        return -ETIMEDOUT;
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok && res && PQstatus(c->pg) == CONNECTION_OK) {
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

/* core_pg_exec with an explicit time budget. */
static int exec_within(const struct core_stmt *st, const char *const *params, int64_t budget_ms,
                       PGresult **ret_res)
{
    struct pgconn *c;
    PGresult *res = NULL;
    int64_t deadline_ns = core_now_ns() + budget_ms * 1000000;
    int r, timed_out = 0;

    for (int attempt = 0; attempt < 2; attempt++) {
        r = conn_get(&c, deadline_ns);
        if (r < 0)
            return r;
        r = prepare(c, st, deadline_ns);
        if (r == RG_EPG)
            return r;
        if (r == -ETIMEDOUT) {
            timed_out = 1;
        } else if (r == 0) {
            res = NULL;
            if (PQsendQueryPrepared(c->pg, st->name, st->nparams, params, NULL, NULL, 0))
                res = await_result(c, deadline_ns, &timed_out);
            ExecStatusType s = PQresultStatus(res);
            if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
                *ret_res = res;
                return 0;
            }
        }
        if (timed_out) {
            /* The server did not answer in time: whatever it is doing, this connection
             * owes us a result we will not wait for, so it goes. */
            PQclear(res);
            conn_close(c);
            RG_LOG(RG_LOG_WARN, RG_EVENT("pg.deadline"), RG_KV_STR("req_id", core_req_id_tl),
                   RG_KV_STR("stmt", st->name), RG_KV_I64("budget_ms", budget_ms));
            return -EAGAIN;
        }
        if (PQstatus(c->pg) != CONNECTION_OK || !res) {
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

int core_pg_exec(const struct core_stmt *st, const char *const *params, PGresult **ret_res)
{
    return exec_within(st, params, core_cfg->pg_statement_timeout_ms + DEADLINE_SLACK_MS,
                       ret_res);
}

int core_pg_ping(void)
{
    static const struct core_stmt ping = {"ping", "SELECT 1", 0, 1};
    PGresult *res = NULL;
    /* readyz must answer promptly even when the database cannot. */
    int r = exec_within(&ping, NULL, PING_TIMEOUT_MS, &res);
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
