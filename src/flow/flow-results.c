/* The result consumer: rg.results -> flow_apply_result in one transaction -> ack.
 *
 * The ack comes after the commit, so a crash in between redelivers the result, which
 * then finds its run already advanced and changes nothing.  A delivery in hand survives
 * a PostgreSQL outage: the loop reconnects and applies it again; if the broker
 * connection dies instead, the broker redelivers it.  A message that is not a result
 * is rejected without requeue: rg.results dead-letters it to rg.dead, and it is counted. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "rg/amqp.h"
#include "rg/json.h"
#include "rg/log.h"
#include "rg/mem.h"

struct consumer {
    struct flow_ctx *ctx;
    PGconn *pg;
    struct rg_amqp *amqp;
    char err[512];
};

static int uuid_valid(const char *s)
{
    if (!s || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

enum apply { APPLY_DONE, APPLY_RETRY_LATER, APPLY_MALFORMED };

/* Applies one result.  APPLY_RETRY_LATER means PostgreSQL failed: keep the delivery. */
static enum apply apply(struct consumer *c, const char *body, size_t len)
{
    const struct flow_config *cfg = c->ctx->cfg;
    struct flow_stats *st = c->ctx->stats;
    json_t *msg = json_loadb(body, len, 0, NULL);
    PGresult *res = NULL;
    char *out_text = NULL, *err_text = NULL;
    enum apply a = APPLY_MALFORMED;

    const char *run_id = rg_json_str(msg, "run_id");
    json_t *jatt = json_object_get(msg, "attempt"), *jok = json_object_get(msg, "ok");
    json_t *output = json_object_get(msg, "output"), *error = json_object_get(msg, "error");
    if (!uuid_valid(run_id) || !json_is_integer(jatt) || json_integer_value(jatt) < 1 ||
        json_integer_value(jatt) > 1000000 || !json_is_boolean(jok) ||
        (json_is_true(jok) && !json_is_object(output)) ||
        (!json_is_true(jok) && (!json_is_object(error) || !rg_json_str(error, "code"))))
        goto out;

    char att[24], base[24], maxt[24], tmo[24];
    snprintf(att, sizeof att, "%lld", (long long)json_integer_value(jatt));
    snprintf(base, sizeof base, "%lld", (long long)cfg->retry_base);
    snprintf(maxt, sizeof maxt, "%lld", (long long)cfg->tiers[cfg->ntiers - 1]);
    snprintf(tmo, sizeof tmo, "%lld", (long long)cfg->step_timeout);
    out_text = json_is_true(jok) ? json_dumps(output, JSON_COMPACT) : NULL;
    err_text = json_is_true(jok) ? NULL : json_dumps(error, JSON_COMPACT);
    const char *p[] = {run_id, att, json_is_true(jok) ? "t" : "f", out_text, err_text, base, maxt, tmo};

    a = APPLY_RETRY_LATER;
    if (flow_pg_cmd(c->pg, "BEGIN", c->err, sizeof c->err) < 0)
        goto out;
    res = PQexecParams(c->pg,
                       "SELECT flow_apply_result($1::uuid, $2::integer, $3::boolean, $4::jsonb, "
                       "$5::jsonb, $6::integer, $7::integer, $8::integer), "
                       "(SELECT extract(epoch FROM now() - created_at) FROM workflow_runs WHERE id = $1::uuid)",
                       8, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        snprintf(c->err, sizeof c->err, "%s", PQerrorMessage(c->pg));
        (void)flow_pg_cmd(c->pg, "ROLLBACK", c->err + 256, 256);
        /* A value PostgreSQL refuses (class 22: a \u0000 in the output's JSON, a
         * "retryable" that is no boolean) is the message's fault, not the database's:
         * retried, it would hold the consumer for ever.  It is dead-lettered instead. */
        if (state && !strncmp(state, "22", 2) && PQstatus(c->pg) == CONNECTION_OK)
            a = APPLY_MALFORMED;
        goto out;
    }
    flow_crash_point("result_before_commit");
    if (flow_pg_cmd(c->pg, "COMMIT", c->err, sizeof c->err) < 0)
        goto out;
    const char *what = PQgetvalue(res, 0, 0);
    if (!strcmp(what, "done")) {
        FLOW_STAT_ADD(st, results_done, 1);
        rg_hist_observe(&st->run_latency, (int64_t)(strtod(PQgetvalue(res, 0, 1), NULL) * 1e6));
        json_t *ms = json_object_get(output, "render_ms");
        if (json_is_integer(ms))
            rg_hist_observe(&st->render, json_integer_value(ms) * 1000);
    } else if (!strcmp(what, "retry")) {
        FLOW_STAT_ADD(st, results_retry, 1);
    } else if (!strcmp(what, "failed")) {
        FLOW_STAT_ADD(st, results_failed, 1);
    } else if (!strcmp(what, "duplicate")) {
        FLOW_STAT_ADD(st, results_duplicate, 1);
    } else if (!strcmp(what, "stale")) {
        FLOW_STAT_ADD(st, results_stale, 1);
    } else {
        FLOW_STAT_ADD(st, results_unknown, 1);
    }
    RG_LOG(!strcmp(what, "done") || !strcmp(what, "duplicate") ? RG_LOG_DEBUG : RG_LOG_INFO,
           RG_EVENT("flow.result"), RG_KV_STR("run_id", run_id), RG_KV_STR("attempt", att),
           RG_KV_STR("outcome", what),
           RG_KV_STR("error", error ? rg_json_str(error, "message") : NULL));
    a = APPLY_DONE;
out:
    PQclear(res);
    rg_free(out_text);
    rg_free(err_text);
    json_decref(msg);
    return a;
}

static int consumer_connect(struct consumer *c)
{
    const struct flow_config *cfg = c->ctx->cfg;
    struct rg_errinfo ei = {0};
    if (!c->pg) {
        c->pg = flow_pg_connect(cfg, "rg-flow-results", c->err, sizeof c->err);
        if (!c->pg)
            return -1;
        FLOW_STAT_ADD(c->ctx->stats, pg_reconnects, 1);
    }
    if (!c->amqp) {
        if (rg_amqp_connect(cfg->amqp_url, 10, (int)cfg->amqp_timeout, &c->amqp, &ei) < 0 ||
            rg_amqp_declare_topology(c->amqp, cfg->tiers, cfg->ntiers, &ei) < 0 ||
            rg_amqp_consume(c->amqp, RG_AMQP_Q_RESULTS, (int)cfg->prefetch, &ei) < 0) {
            snprintf(c->err, sizeof c->err, "%s", ei.msg);
            c->amqp = rg_amqp_free(c->amqp);
            return -1;
        }
        FLOW_STAT_ADD(c->ctx->stats, amqp_reconnects, 1);
    }
    return 0;
}

void *flow_results_main(void *arg)
{
    struct consumer c = {.ctx = arg};
    struct rg_errinfo ei = {0};
    int64_t backoff = 100;

    while (!*c.ctx->stop) {
        struct rg_amqp_delivery d;
        if (consumer_connect(&c) < 0) {
            FLOW_STAT_SET(c.ctx->stats, results_ok, 0);
            RG_LOG(RG_LOG_WARN, RG_EVENT("flow.results_connect_failed"), RG_KV_STR("msg", c.err),
                   RG_KV_I64("retry_ms", backoff));
            flow_sleep_ms(backoff, c.ctx->stop);
            backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
            continue;
        }
        FLOW_STAT_SET(c.ctx->stats, results_ok, 1);
        backoff = 100;
        int r = rg_amqp_next(c.amqp, 500, &d, &ei);
        if (r == 0)
            continue;
        if (r == RG_EAMQP) {
            RG_LOG(RG_LOG_WARN, RG_EVENT("flow.results_amqp_lost"), RG_KV_STR("msg", ei.msg));
            c.amqp = rg_amqp_free(c.amqp);
            continue;
        }
        enum apply a = r == RG_ETOOBIG ? APPLY_MALFORMED : apply(&c, d.body, d.len);
        while (a == APPLY_RETRY_LATER && !*c.ctx->stop) {
            /* PostgreSQL is away: hold the delivery, reconnect, apply it again. */
            RG_LOG(RG_LOG_WARN, RG_EVENT("flow.result_apply_failed"), RG_KV_STR("msg", c.err));
            if (c.pg && PQstatus(c.pg) != CONNECTION_OK) {
                PQfinish(c.pg);
                c.pg = NULL;
            }
            flow_sleep_ms(backoff, c.ctx->stop);
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
            if (!c.pg && !(c.pg = flow_pg_connect(c.ctx->cfg, "rg-flow-results", c.err, sizeof c.err)))
                continue;
            a = apply(&c, d.body, d.len);
        }
        if (a == APPLY_RETRY_LATER) {
            /* Stopping with a result not applied: hand it back to the broker. */
            (void)rg_amqp_reject(c.amqp, d.tag, 1);
        } else if (a == APPLY_MALFORMED) {
            FLOW_STAT_ADD(c.ctx->stats, results_malformed, 1);
            RG_LOG(RG_LOG_WARN, RG_EVENT("flow.result_malformed"), RG_KV_STR("message_id", d.message_id),
                   RG_KV_I64("bytes", d.len));
            if (rg_amqp_reject(c.amqp, d.tag, 0) < 0)
                c.amqp = rg_amqp_free(c.amqp);
        } else {
            flow_crash_point("result_after_commit");
            if (rg_amqp_ack(c.amqp, d.tag) < 0)
                c.amqp = rg_amqp_free(c.amqp);
        }
        rg_amqp_delivery_done(&d);
    }
    if (c.pg)
        PQfinish(c.pg);
    rg_amqp_free(c.amqp);
    return NULL;
}
