/* The store thread: session look-ups in Redis, replays from PostgreSQL, retention.
 *
 * It takes every queued job at once: the session look-ups of the batch go to Redis as
 * one pipeline (a burst of reconnecting sockets costs one round trip), then each replay
 * is one short read.  Answers travel back in the job structs; the service thread is woken
 * once per batch.  Connections are made lazily and re-made after any failure; a job that
 * meets a dead backend is answered with err < 0 (the socket is closed with 1011 and the
 * client comes back with `since`).
 *
 * Sessions are rg-core's: <prefix>sess:<sha256 hex of token> -> user id (core-auth.c).
 * The hub reads them with GET and never renews them. */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify.h"
#include "rg/log.h"
#include "rg/mem.h"

struct store {
    struct notify_hub *hub;
    const struct notify_config *cfg;
    PGconn *pg;
    redisContext *rc;
    int64_t pg_retry_at, rc_retry_at, next_prune; /* monotonic ms */
    int64_t last_pg_log, last_rc_log;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail_log(int64_t *last, const char *event, const char *msg)
{
    int64_t now = mono_ms();
    if (now - *last < 1000)
        return; /* one line a second while a backend is down */
    *last = now;
    RG_LOG(RG_LOG_WARN, RG_EVENT(event), RG_KV_STR("msg", msg));
}

/* ---- PostgreSQL ------------------------------------------------------------------------ */

/* A user's committed seqs are 1..users.notify_seq without a hole (0005-notify-seq.sql),
 * less what retention deleted from the bottom: a replay is complete exactly when its rows
 * run on from since + 1 without a gap. */
static const char sql_rows[] =
    "SELECT seq, id, payload::text, created_at < now() - make_interval(secs => $3::bigint / 1000.0) "
    "FROM notifications WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $4";
static const char sql_meta[] = "SELECT coalesce((SELECT notify_seq FROM users WHERE id = $1), 0)";

static PGconn *pg_get(struct store *s)
{
    if (s->pg && PQstatus(s->pg) == CONNECTION_OK)
        return s->pg;
    if (s->pg) {
        PQfinish(s->pg);
        s->pg = NULL;
    }
    if (mono_ms() < s->pg_retry_at)
        return NULL;
    char tmo[32], opts[64];
    snprintf(tmo, sizeof tmo, "%lld", (long long)((s->cfg->pg_timeout + 999) / 1000));
    snprintf(opts, sizeof opts, "-c statement_timeout=%lld", (long long)s->cfg->pg_timeout);
    const char *keys[] = {"dbname", "connect_timeout", "application_name", "options", NULL};
    const char *vals[] = {s->cfg->pg_url, tmo, "rg-notify", opts, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    PGresult *r1 = NULL, *r2 = NULL;
    if (PQstatus(pg) == CONNECTION_OK) {
        r1 = PQprepare(pg, "rows", sql_rows, 4, NULL);
        r2 = PQprepare(pg, "meta", sql_meta, 1, NULL);
    }
    if (PQstatus(pg) != CONNECTION_OK || PQresultStatus(r1) != PGRES_COMMAND_OK ||
        PQresultStatus(r2) != PGRES_COMMAND_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(pg));
        msg[strcspn(msg, "\n")] = 0;
        fail_log(&s->last_pg_log, "notify.pg_unavailable", msg);
        PQclear(r1);
        PQclear(r2);
        PQfinish(pg);
        s->pg_retry_at = mono_ms() + 500;
        NOTIFY_SET(s->hub->stats, pg_ok, 0);
        return NULL;
    }
    PQclear(r1);
    PQclear(r2);
    s->pg = pg;
    NOTIFY_SET(s->hub->stats, pg_ok, 1);
    return pg;
}

static void pg_failed(struct store *s, PGresult *res)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(s->pg));
    msg[strcspn(msg, "\n")] = 0;
    fail_log(&s->last_pg_log, "notify.pg_failed", msg);
    NOTIFY_ADD(s->hub->stats, store_errors, 1);
    if (PQstatus(s->pg) != CONNECTION_OK)
        NOTIFY_SET(s->hub->stats, pg_ok, 0);
}

/* Fills job->rows / last_id / resync for a replay (or only last_id when since < 0). */
static void replay(struct store *s, struct notify_job *job)
{
    const struct notify_config *cfg = s->cfg;
    PGconn *pg = pg_get(s);
    PGresult *res = NULL;
    char uid[24], since[24], keep[24], lim[24];

    if (!pg) {
        job->err = RG_EPG;
        return;
    }
    snprintf(uid, sizeof uid, "%" PRId64, job->uid);
    const char *mp[] = {uid};
    res = PQexecPrepared(pg, "meta", 1, mp, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        pg_failed(s, res);
        PQclear(res);
        job->err = RG_EPG;
        return;
    }
    int64_t newest = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    job->last_seq = newest;
    if (job->since < 0)
        return;
    if (job->since > newest) {
        job->resync = "since_unknown";
        return;
    }
    if (job->since == newest)
        return;
    snprintf(since, sizeof since, "%" PRId64, job->since);
    snprintf(keep, sizeof keep, "%" PRId64, cfg->retention);
    snprintf(lim, sizeof lim, "%" PRId64, cfg->replay_max + 1);
    const char *rp[] = {uid, since, keep, lim};
    res = PQexecPrepared(pg, "rows", 4, rp, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_failed(s, res);
        PQclear(res);
        job->err = RG_EPG;
        return;
    }
    int n = PQntuples(res);
    if (n > cfg->replay_max) {
        job->resync = "too_many";
        PQclear(res);
        return;
    }
    if (n == 0)
        job->resync = "since_too_old"; /* since < newest, and nothing after it is left */
    struct notify_msg **tail = &job->rows;
    int64_t want = job->since + 1;
    for (int i = 0; i < n && !job->resync; i++, want++) {
        int64_t seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        if (seq != want || PQgetvalue(res, i, 3)[0] == 't') {
            job->resync = "since_too_old"; /* deleted by retention, or about to be */
            break;
        }
        struct notify_msg *m =
            notify_msg_new(PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2), job->uid,
                           strtoll(PQgetvalue(res, i, 1), NULL, 10));
        m->seq = seq;
        *tail = m;
        tail = &m->next;
        if (seq > job->last_seq)
            job->last_seq = seq;
    }
    PQclear(res);
    if (job->resync) {
        while (job->rows) {
            struct notify_msg *m = job->rows;
            job->rows = m->next;
            notify_msg_unref(m);
        }
    }
}

static void prune(struct store *s)
{
    PGconn *pg = pg_get(s);
    char keep[24];
    if (!pg)
        return;
    snprintf(keep, sizeof keep, "%" PRId64, s->cfg->retention);
    for (int round = 0; round < 100 && !s->hub->stop; round++) {
        const char *p[] = {keep};
        PGresult *res = PQexecParams(
            pg, "SELECT notify_prune(make_interval(secs => $1::bigint / 1000.0), 5000)", 1, NULL, p,
            NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            pg_failed(s, res);
            PQclear(res);
            return;
        }
        long k = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (k > 0)
            RG_LOG(RG_LOG_INFO, RG_EVENT("notify.pruned"), RG_KV_I64("rows", k));
        if (k < 5000)
            return;
    }
}

/* ---- Redis --------------------------------------------------------------------------- */

static redisContext *rc_get(struct store *s)
{
    if (s->rc && !s->rc->err)
        return s->rc;
    if (s->rc) {
        redisFree(s->rc);
        s->rc = NULL;
    }
    if (mono_ms() < s->rc_retry_at)
        return NULL;
    const char *u = s->cfg->redis_url;
    char host[256];
    int port = 6379, db = 0;
    if (strncmp(u, "redis://", 8) == 0)
        u += 8;
    const char *at = strchr(u, '@'); /* credentials are not supported (as in rg-core) */
    if (at)
        u = at + 1;
    size_t hl = strcspn(u, ":/");
    snprintf(host, sizeof host, "%.*s", (int)hl, u);
    u += hl;
    if (*u == ':') {
        port = (int)strtol(u + 1, NULL, 10);
        u += 1 + strcspn(u + 1, "/");
    }
    if (*u == '/' && u[1])
        db = (int)strtol(u + 1, NULL, 10);
    struct timeval tv = {s->cfg->redis_timeout / 1000, (s->cfg->redis_timeout % 1000) * 1000};
    redisContext *rc = redisConnectWithTimeout(host, port, tv);
    if (rc && !rc->err) {
        (void)redisSetTimeout(rc, tv);
        (void)redisEnableKeepAlive(rc);
        if (db) {
            redisReply *rep = redisCommand(rc, "SELECT %d", db);
            if (!rep || rep->type != REDIS_REPLY_STATUS) {
                if (!rc->err) {
                    rc->err = REDIS_ERR_OTHER;
                    snprintf(rc->errstr, sizeof rc->errstr, "SELECT %d refused", db);
                }
            }
            if (rep)
                freeReplyObject(rep);
        }
    }
    if (!rc || rc->err) {
        fail_log(&s->last_rc_log, "notify.redis_unavailable", rc ? rc->errstr : "out of memory");
        if (rc)
            redisFree(rc);
        s->rc_retry_at = mono_ms() + 500;
        NOTIFY_SET(s->hub->stats, redis_ok, 0);
        return NULL;
    }
    s->rc = rc;
    NOTIFY_SET(s->hub->stats, redis_ok, 1);
    return rc;
}

/* Looks up the sessions of every AUTH/RECHECK job in the list, one pipeline. */
static void auth_batch(struct store *s, struct notify_job **jobs, size_t n)
{
    redisContext *rc = rc_get(s);
    size_t sent = 0;
    if (rc) {
        for (; sent < n; sent++)
            if (redisAppendCommand(rc, "GET %ssess:%s", s->cfg->redis_prefix, jobs[sent]->hash) !=
                REDIS_OK)
                break;
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *rep = NULL;
        if (i >= sent || redisGetReply(rc, (void **)&rep) != REDIS_OK || !rep) {
            jobs[i]->err = RG_EREDIS;
            continue;
        }
        if (rep->type == REDIS_REPLY_STRING) {
            long long v = strtoll(rep->str, NULL, 10);
            jobs[i]->uid = v > 0 ? (int64_t)v : 0;
        } else if (rep->type == REDIS_REPLY_NIL) {
            jobs[i]->uid = 0;
        } else {
            jobs[i]->err = RG_EREDIS;
        }
        freeReplyObject(rep);
    }
    if (rc && rc->err) {
        fail_log(&s->last_rc_log, "notify.redis_failed", rc->errstr);
        NOTIFY_ADD(s->hub->stats, store_errors, 1);
        NOTIFY_SET(s->hub->stats, redis_ok, 0);
    }
}

/* ---- the loop ------------------------------------------------------------------------ */

void *notify_store_main(void *arg)
{
    struct store s = {.hub = arg, .cfg = ((struct notify_hub *)arg)->cfg};
    struct notify_hub *hub = s.hub;
    size_t cap = 0;
    struct notify_job **auth = NULL;

    s.next_prune = mono_ms() + 1000;
    (void)pg_get(&s);
    (void)rc_get(&s);
    while (!hub->stop) {
        struct notify_job *batch;
        pthread_mutex_lock(&hub->mu);
        if (!hub->jobs && !hub->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&hub->jobs_cv, &hub->mu, &ts);
        }
        batch = hub->jobs;
        hub->jobs = NULL;
        hub->jobs_tail = &hub->jobs;
        pthread_mutex_unlock(&hub->mu);

        /* Keep the health gauges true while idle too. */
        if (!batch) {
            (void)pg_get(&s);
            (void)rc_get(&s);
        }
        size_t n = 0;
        for (struct notify_job *j = batch; j; j = j->next)
            if (j->kind != NOTIFY_JOB_REPLAY)
                n++;
        if (n > cap) {
            cap = n * 2;
            auth = rg_realloc(auth, cap * sizeof *auth);
        }
        n = 0;
        for (struct notify_job *j = batch; j; j = j->next)
            if (j->kind != NOTIFY_JOB_REPLAY)
                auth[n++] = j;
        if (n)
            auth_batch(&s, auth, n);
        for (struct notify_job *j = batch; j; j = j->next)
            if (j->kind == NOTIFY_JOB_REPLAY)
                replay(&s, j);
        if (batch) {
            struct notify_job *last = batch;
            while (last->next)
                last = last->next;
            pthread_mutex_lock(&hub->mu);
            *hub->answers_tail = batch;
            hub->answers_tail = &last->next;
            pthread_mutex_unlock(&hub->mu);
            lws_cancel_service(hub->lws);
        }
        if (mono_ms() >= s.next_prune) {
            prune(&s);
            s.next_prune = mono_ms() + s.cfg->prune_interval;
        }
    }
    rg_free(auth);
    if (s.rc)
        redisFree(s.rc);
    PQfinish(s.pg);
    return NULL;
}
