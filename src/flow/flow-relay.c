/* The outbox relay, the reaper and the gauges: one thread with its own PostgreSQL
 * connection (LISTEN rg_outbox: a wake-up only, it polls every 100 ms anyway when the outbox
 * is empty) and its own publishing
 * RabbitMQ connection (confirms, no heartbeats: it may sit idle outside library calls).
 *
 * Relay: in ONE transaction, lock a batch of unpublished rows (FOR UPDATE SKIP LOCKED,
 * so replicas share the outbox and never wait), mark them and move their runs to
 * 'running' (flow_dispatched), publish them with mandatory + confirms, write the users'
 * render.progress notifications (flow_dispatched_notify: only now, it locks the users'
 * rows), commit.  A crash
 * between the confirm and the commit re-sends the batch; consumers are idempotent
 * (message_id = run:attempt, duplicate results change nothing). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "rg/amqp.h"
#include "rg/buf.h"
#include "rg/log.h"
#include "rg/mem.h"

struct relay {
    struct flow_ctx *ctx;
    PGconn *pg;
    struct rg_amqp *amqp;
    char err[512];
    char notice[FLOW_NOTICE_MAX]; /* the last NOTICE/WARNING of the relay's session */
    int vacuum_refused; /* not the outbox's owner: autovacuum alone does it */
};

static void relay_close_pg(struct relay *rl)
{
    if (rl->pg)
        PQfinish(rl->pg);
    rl->pg = NULL;
}

static int relay_connect(struct relay *rl)
{
    const struct flow_config *cfg = rl->ctx->cfg;
    struct rg_errinfo ei = {0};

    if (!rl->pg) {
        rl->pg = flow_pg_connect(cfg, "rg-flow-relay", rl->err, sizeof rl->err);
        if (!rl->pg)
            return -1;
        PQsetNoticeProcessor(rl->pg, flow_pg_notice, rl->notice);
        if (flow_pg_cmd(rl->pg, "LISTEN rg_outbox", rl->err, sizeof rl->err) < 0) {
            relay_close_pg(rl);
            return -1;
        }
        FLOW_STAT_ADD(rl->ctx->stats, pg_reconnects, 1);
    }
    if (!rl->amqp) {
        if (rg_amqp_connect(cfg->amqp_url, 0, (int)cfg->amqp_timeout, &rl->amqp, &ei) < 0 ||
            rg_amqp_declare_topology(rl->amqp, cfg->tiers, cfg->ntiers, &ei) < 0 ||
            rg_amqp_confirm_select(rl->amqp, &ei) < 0) {
            snprintf(rl->err, sizeof rl->err, "%s", ei.msg);
            rl->amqp = rg_amqp_free(rl->amqp);
            return -1;
        }
        FLOW_STAT_ADD(rl->ctx->stats, amqp_reconnects, 1);
    }
    return 0;
}

/* Publishes one batch.  Returns the number of rows taken (0 = outbox empty), or -1 when
 * a connection failed (the transaction is then rolled back or lost with the session). */
static int relay_once(struct relay *rl)
{
    const struct flow_config *cfg = rl->ctx->cfg;
    struct flow_stats *st = rl->ctx->stats;
    struct rg_errinfo ei = {0};
    struct rg_amqp_msg *msgs = NULL;
    int *status = NULL;
    PGresult *res = NULL, *dres = NULL;
    struct rg_buf ids;
    char lim[24];
    int n = 0, r = -1, skipped = 0;
    int64_t t0 = flow_now_ms();

    rg_buf_init(&ids, 1 << 20);
    if (flow_pg_cmd(rl->pg, "BEGIN", rl->err, sizeof rl->err) < 0)
        goto out;
    snprintf(lim, sizeof lim, "%lld", (long long)cfg->relay_batch);
    const char *params[] = {lim};
    res = PQexecParams(rl->pg,
                       "SELECT id, exchange, routing_key, message_id, payload, attempt, expiration_ms "
                       "FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 "
                       "FOR UPDATE SKIP LOCKED",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(rl->err, sizeof rl->err, "%s", PQerrorMessage(rl->pg));
        goto out;
    }
    n = PQntuples(res);
    if (n == 0) {
        r = flow_pg_cmd(rl->pg, "COMMIT", rl->err, sizeof rl->err) < 0 ? -1 : 0;
        goto out;
    }
    msgs = rg_calloc((size_t)n, sizeof *msgs);
    status = rg_calloc((size_t)n, sizeof *status);
    for (int i = 0; i < n; i++) {
        msgs[i].exchange = PQgetvalue(res, i, 1);
        msgs[i].routing_key = PQgetvalue(res, i, 2);
        msgs[i].message_id = PQgetvalue(res, i, 3);
        msgs[i].body = PQgetvalue(res, i, 4);
        msgs[i].len = (size_t)PQgetlength(res, i, 4);
        msgs[i].attempt = strtoll(PQgetvalue(res, i, 5), NULL, 10);
        msgs[i].expiration_ms = strtoll(PQgetvalue(res, i, 6), NULL, 10);
    }
    /* Runs move to 'running' BEFORE the publish, in the same transaction: the run rows
     * stay locked until the commit, so a result that comes back faster than the commit
     * waits for it and always finds the run dispatched. */
    (void)rg_buf_putc(&ids, '{');
    for (int i = 0; i < n; i++)
        (void)rg_buf_printf(&ids, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
    (void)rg_buf_putc(&ids, '}');
    char tmo[24];
    snprintf(tmo, sizeof tmo, "%lld", (long long)cfg->step_timeout);
    const char *p2[] = {ids.ptr, cfg->replica, tmo};
    dres = PQexecParams(rl->pg, "SELECT flow_dispatched($1::bigint[], $2, $3::integer)", 3, NULL, p2,
                        NULL, NULL, 0);
    if (PQresultStatus(dres) != PGRES_TUPLES_OK) {
        snprintf(rl->err, sizeof rl->err, "%s", PQerrorMessage(rl->pg));
        (void)flow_pg_cmd(rl->pg, "ROLLBACK", rl->err + 256, 256);
        goto out;
    }
    flow_crash_point("relay_before_publish");
    if (rg_amqp_publish(rl->amqp, msgs, (size_t)n, status, (int)cfg->amqp_timeout, &ei) < 0) {
        snprintf(rl->err, sizeof rl->err, "%s", ei.msg);
        rl->amqp = rg_amqp_free(rl->amqp);
        FLOW_STAT_ADD(st, publish_failures, 1);
        (void)flow_pg_cmd(rl->pg, "ROLLBACK", rl->err + 256, 256);
        goto out;
    }
    flow_crash_point("relay_after_publish");
    for (int i = 0; i < n; i++) {
        if (status[i] == -ENOENT && !strcmp(msgs[i].exchange, RG_AMQP_EX_NOTIFY)) {
            /* No hub has bound a queue for this user: nobody is online to push to, and the
             * notification row already in PostgreSQL is what a reconnect replays. */
            FLOW_STAT_ADD(st, published_notify_unrouted, 1);
        } else if (status[i] != 0) {
            skipped++;
            RG_LOG(RG_LOG_WARN, RG_EVENT("flow.publish_refused"), RG_KV_STR("message_id", msgs[i].message_id),
                   RG_KV_STR("exchange", msgs[i].exchange), RG_KV_STR("routing_key", msgs[i].routing_key),
                   RG_KV_STR("why", status[i] == -ENOENT ? "unroutable" : "nacked"));
        }
    }
    if (skipped) {
        /* The broker refused part of the batch (a missing binding, a nack): nothing of it
         * counts as sent; the whole batch goes again on the next pass, duplicates and all. */
        FLOW_STAT_ADD(st, publish_failures, 1);
        r = flow_pg_cmd(rl->pg, "ROLLBACK", rl->err, sizeof rl->err) < 0 ? -1 : 0;
        goto out;
    }
    int64_t dispatched = strtoll(PQgetvalue(dres, 0, 0), NULL, 10);
    /* The render.progress notifications last, just before the commit: writing one locks
     * its user's row (the per-user notification seq, 0005-notify-seq.sql), which must not
     * be held while the broker confirms, or the user's own submits would wait for it. */
    if (flow_pg_cmd(rl->pg, "SELECT flow_dispatched_notify()", rl->err, sizeof rl->err) < 0) {
        (void)flow_pg_cmd(rl->pg, "ROLLBACK", rl->err + 256, 256);
        goto out;
    }
    if (flow_pg_cmd(rl->pg, "COMMIT", rl->err, sizeof rl->err) < 0)
        goto out;
    FLOW_STAT_ADD(st, published, (uint64_t)n);
    FLOW_STAT_ADD(st, dispatched, (uint64_t)dispatched);
    rg_hist_observe(&st->relay_batch, (flow_now_ms() - t0) * 1000);
    r = n;
out:
    PQclear(dres);
    PQclear(res);
    rg_free(msgs);
    rg_free(status);
    rg_buf_done(&ids);
    return r;
}

static int reap_once(struct relay *rl)
{
    const struct flow_config *cfg = rl->ctx->cfg;
    char base[24], maxt[24], tmo[24];
    snprintf(base, sizeof base, "%lld", (long long)cfg->retry_base);
    snprintf(maxt, sizeof maxt, "%lld", (long long)cfg->tiers[cfg->ntiers - 1]);
    snprintf(tmo, sizeof tmo, "%lld", (long long)cfg->step_timeout);
    const char *p[] = {base, maxt, tmo};
    PGresult *res = PQexecParams(rl->pg, "SELECT flow_reap(100, $1::integer, $2::integer, $3::integer)",
                                 3, NULL, p, NULL, NULL, 0);
    int r = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        r = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
        if (r > 0) {
            FLOW_STAT_ADD(rl->ctx->stats, reaped, (uint64_t)r);
            RG_LOG(RG_LOG_WARN, RG_EVENT("flow.steps_timed_out"), RG_KV_I64("runs", r));
        }
    } else {
        snprintf(rl->err, sizeof rl->err, "%s", PQerrorMessage(rl->pg));
    }
    PQclear(res);
    return r;
}

/* Runs by state and the outbox backlog, for /metrics.  Queued, running and failed runs
 * and the outbox are counted through partial indexes, so their cost follows the work in
 * hand, not the history; done runs are nearly every row of a table that only grows, so
 * they are counted every 30 s (with_done) instead of every 2 s. */
static int gauges_once(struct relay *rl, int with_done)
{
    struct flow_stats *st = rl->ctx->stats;
    struct rg_errinfo ei = {0};
    PGresult *res = PQexec(rl->pg,
                           with_done ? "SELECT count(*) FILTER (WHERE state = 'queued'),"
                                       " count(*) FILTER (WHERE state = 'running'),"
                                       " (SELECT count(*) FROM workflow_runs WHERE state = 'failed'),"
                                       " (SELECT count(*) FROM outbox WHERE published_at IS NULL),"
                                       " (SELECT count(*) FROM workflow_runs WHERE state = 'done')"
                                       " FROM workflow_runs WHERE state IN ('queued', 'running')"
                                     : "SELECT count(*) FILTER (WHERE state = 'queued'),"
                                       " count(*) FILTER (WHERE state = 'running'),"
                                       " (SELECT count(*) FROM workflow_runs WHERE state = 'failed'),"
                                       " (SELECT count(*) FROM outbox WHERE published_at IS NULL)"
                                       " FROM workflow_runs WHERE state IN ('queued', 'running')");
    int r = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        FLOW_STAT_SET(st, runs_queued, strtoll(PQgetvalue(res, 0, 0), NULL, 10));
        FLOW_STAT_SET(st, runs_running, strtoll(PQgetvalue(res, 0, 1), NULL, 10));
        FLOW_STAT_SET(st, runs_failed, strtoll(PQgetvalue(res, 0, 2), NULL, 10));
        FLOW_STAT_SET(st, outbox_backlog, strtoll(PQgetvalue(res, 0, 3), NULL, 10));
        if (with_done)
            FLOW_STAT_SET(st, runs_done, strtoll(PQgetvalue(res, 0, 4), NULL, 10));
        r = 0;
    }
    PQclear(res);
    int64_t d;
    if (rg_amqp_queue_depth(rl->amqp, RG_AMQP_Q_RENDER, &d, &ei) == 0)
        FLOW_STAT_SET(st, depth_render, d);
    else
        rl->amqp = rg_amqp_free(rl->amqp);
    if (rl->amqp && rg_amqp_queue_depth(rl->amqp, RG_AMQP_Q_RESULTS, &d, &ei) == 0)
        FLOW_STAT_SET(st, depth_results, d);
    if (rl->amqp && rg_amqp_queue_depth(rl->amqp, RG_AMQP_Q_DEAD, &d, &ei) == 0)
        FLOW_STAT_SET(st, depth_dead, d);
    return r;
}

/* The relay deletes every row it sends, and its scan walks the outbox's index from the
 * lowest id: each deleted row stays there, costing every later scan, until a VACUUM.
 * Autovacuum looks every minute at best; at 150 generations/s that is 36,000 rows (four per
 * generation) and the scan, the DELETE and flow_dispatched all grow with them (bench-flow:
 * the relay's SELECT 0.23 ms after 4,000 rows, 0.32 ms after 16,000).  So the relay vacuums
 * the outbox itself every outbox_vacuum rows: a few milliseconds over a table that holds
 * only what is in flight.  SKIP_LOCKED: a replica or autovacuum already at it is enough.
 * Needs the table's owner (the role that ran the migrations); without it PostgreSQL only
 * warns and autovacuum keeps doing it. */
static void vacuum_outbox(struct relay *rl)
{
    rl->notice[0] = 0;
    if (flow_pg_cmd(rl->pg, "VACUUM (SKIP_LOCKED) outbox", rl->err, sizeof rl->err) < 0) {
        RG_LOG(RG_LOG_WARN, RG_EVENT("flow.outbox_vacuum_failed"), RG_KV_STR("msg", rl->err));
    } else if (strstr(rl->notice, "only table or database owner")) {
        /* PostgreSQL skips it with a WARNING and no error: say so once, then stop asking. */
        rl->vacuum_refused = 1;
        RG_LOG(RG_LOG_WARN, RG_EVENT("flow.outbox_vacuum_refused"),
               RG_KV_STR("msg", "rg-flow's role does not own the outbox table: its dead rows are "
                                "left to autovacuum (run rg-flow as the role that ran the migrations)"));
    } else if (!strstr(rl->notice, "skipping")) {
        FLOW_STAT_ADD(rl->ctx->stats, outbox_vacuums, 1); /* (skipping: another one at it) */
    }
}

/* Waits for a NOTIFY on rg_outbox or for ms to pass. */
static void wait_notify(struct relay *rl, int ms)
{
    struct pollfd pfd = {PQsocket(rl->pg), POLLIN, 0};
    if (pfd.fd < 0 || poll(&pfd, 1, ms) <= 0)
        return;
    if (!PQconsumeInput(rl->pg))
        return; /* the next statement notices the broken connection */
    PGnotify *n;
    while ((n = PQnotifies(rl->pg)))
        PQfreemem(n);
}

void *flow_relay_main(void *arg)
{
    struct relay rl = {.ctx = arg};
    const struct flow_config *cfg = rl.ctx->cfg;
    int64_t backoff = 100, next_reap = 0, next_gauges = 0, next_done = 0, relayed = 0;

    while (!*rl.ctx->stop) {
        if (relay_connect(&rl) < 0) {
            FLOW_STAT_SET(rl.ctx->stats, relay_ok, 0);
            RG_LOG(RG_LOG_WARN, RG_EVENT("flow.relay_connect_failed"), RG_KV_STR("msg", rl.err),
                   RG_KV_I64("retry_ms", backoff));
            flow_sleep_ms(backoff, rl.ctx->stop);
            backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
            continue;
        }
        FLOW_STAT_SET(rl.ctx->stats, relay_ok, 1);
        backoff = 100;
        int n = relay_once(&rl);
        if (n < 0) {
            RG_LOG(RG_LOG_WARN, RG_EVENT("flow.relay_failed"), RG_KV_STR("msg", rl.err));
            if (PQstatus(rl.pg) != CONNECTION_OK)
                relay_close_pg(&rl);
            flow_sleep_ms(100, rl.ctx->stop);
            continue;
        }
        relayed += n;
        if (cfg->outbox_vacuum > 0 && !rl.vacuum_refused && relayed >= cfg->outbox_vacuum) {
            vacuum_outbox(&rl);
            relayed = 0;
        }
        int64_t now = flow_now_ms();
        if (now >= next_reap) {
            if (reap_once(&rl) < 0 && PQstatus(rl.pg) != CONNECTION_OK) {
                relay_close_pg(&rl);
                continue;
            }
            next_reap = now + cfg->reap_interval;
        }
        if (now >= next_gauges && rl.amqp) {
            int with_done = now >= next_done;
            if (with_done)
                next_done = now + 30000;
            if (gauges_once(&rl, with_done) < 0 && PQstatus(rl.pg) != CONNECTION_OK) {
                relay_close_pg(&rl);
                continue;
            }
            next_gauges = now + 2000;
        }
        /* Wait only when the outbox was empty: a batch of tasks adds rows of its own
         * (flow_dispatched tells the user "running") without a NOTIFY, and those went
         * out only when the 100 ms wait ran out. */
        if (n == 0)
            wait_notify(&rl, 100);
    }
    relay_close_pg(&rl);
    rg_amqp_free(rl.amqp);
    return NULL;
}
