/* A render child of rg-pdf: one renderer, one consuming connection (prefetch 1), one
 * publishing connection (confirms).  The order per task is fixed by the contract:
 * render -> store -> publish the result and wait for its confirm -> ack the task.  A
 * child that dies anywhere before the ack loses nothing: the broker redelivers the task,
 * and the result of a second run is a duplicate rg-flow ignores.
 *
 * Two connections because waiting for confirms on a consuming connection would swallow
 * deliveries (SYSTEM-NOTES §2.2); with prefetch 1 nothing else is delivered while a task
 * is in hand, so the consumer's heartbeats may lapse only in renders longer than two
 * heartbeat intervals (then the broker requeues the task and the late ack fails). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pdf.h"
#include "rg/amqp.h"
#include "rg/log.h"
#include "rg/mem.h"

struct conns {
    struct rg_amqp *in, *out;
};

static void conns_close(struct conns *c)
{
    c->in = rg_amqp_free(c->in);
    c->out = rg_amqp_free(c->out);
}

static int conns_open(const struct pdf_config *cfg, struct conns *c, struct rg_errinfo *ei)
{
    int tmo = (int)cfg->amqp_timeout;
    int r;
    if ((r = rg_amqp_connect(cfg->amqp_url, (int)(cfg->heartbeat / 1000), tmo, &c->in, ei)) < 0 ||
        /* Idempotent: whichever of rg-flow and rg-pdf starts first creates the queues. */
        (r = rg_amqp_declare_topology(c->in, NULL, 0, ei)) < 0 ||
        (r = rg_amqp_consume(c->in, RG_AMQP_Q_RENDER, 1, ei)) < 0 ||
        /* No heartbeats on the publisher: it sits idle between tasks, outside library
         * calls, and a dead connection shows up as a failed publish or confirm timeout. */
        (r = rg_amqp_connect(cfg->amqp_url, 0, tmo, &c->out, ei)) < 0 ||
        (r = rg_amqp_confirm_select(c->out, ei)) < 0) {
        conns_close(c);
        return r;
    }
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

_Static_assert(sizeof(((struct rg_amqp_delivery *)0)->message_id) == PDF_MSGID_MAX,
               "inflight slots hold a whole message id");

/* Fault injection for the poison-task test: with RG_PDF_CRASH_ON=<text>, a task whose
 * body contains <text> kills the render process as a renderer crash would. */
static void crash_if_asked(const char *body, size_t len)
{
    const char *marker = getenv("RG_PDF_CRASH_ON");
    if (marker && *marker && memmem(body, len, marker, strlen(marker)))
        raise(SIGSEGV);
}

/* The result for a task that killed its renderer PDF_MAX_CRASHES times: failed, not
 * retryable, so the run ends with a reason instead of crash-looping. */
static enum pdf_outcome poison_result(const char *body, size_t len, json_t **ret_result,
                                      char **ret_run_id, int64_t *ret_attempt)
{
    json_t *t = json_loadb(body, len, 0, NULL);
    const char *run_id = json_string_value(json_object_get(t, "run_id"));
    json_t *att = json_object_get(t, "attempt");
    if (!run_id || !json_is_integer(att)) {
        json_decref(t);
        return PDF_MALFORMED;
    }
    *ret_result = pdf_error_result(run_id, json_integer_value(att), "render_crashed",
                                   "the renderer crashed on this resume; it is not retried", 0);
    *ret_run_id = rg_strdup(run_id);
    *ret_attempt = json_integer_value(att);
    json_decref(t);
    return PDF_FAILED;
}

int pdf_worker_main(const struct pdf_config *cfg, struct pdf_stats *stats, int slot, volatile int *stop)
{
    struct pdf_ctx ctx = {.cfg = cfg, .stats = stats};
    struct conns c = {0};
    struct rg_errinfo ei = {0};
    int backoff = 100, rc = 1;
    int64_t idle_since = 0; /* end of the last task; 0 after a reconnect or an empty poll */

    ctx.renderer = rg_renderer_new(cfg->data_dir, &ei);
    if (!ctx.renderer) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("pdf.renderer_failed"), RG_KV_STR("msg", ei.msg));
        goto out;
    }
    if (rg_storage_open(cfg->storage, &ctx.storage, &ei) < 0) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("pdf.storage_invalid"), RG_KV_STR("msg", ei.msg));
        goto out;
    }

    while (!*stop) {
        struct rg_amqp_delivery d;
        json_t *result = NULL;
        char *run_id = NULL, *text = NULL;
        int64_t attempt = 0;
        int r;

        if (!c.in) {
            if (conns_open(cfg, &c, &ei) < 0) {
                RG_LOG(RG_LOG_WARN, RG_EVENT("pdf.amqp_connect_failed"), RG_KV_STR("msg", ei.msg),
                       RG_KV_I64("retry_ms", backoff));
                sleep_ms(backoff);
                backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
                continue;
            }
            PDF_STAT_ADD(stats, amqp_reconnects, 1);
            __atomic_store_n(&stats->slot_ready[slot], 1, __ATOMIC_RELAXED);
            backoff = 100;
            idle_since = 0;
        }
        r = rg_amqp_next(c.in, 500, &d, &ei);
        if (r == 0) {
            idle_since = 0; /* no work, not a slow broker: not counted as idle */
            continue;
        }
        if (r != RG_EAMQP && idle_since)
            rg_hist_observe(&stats->idle, pdf_mono_us() - idle_since);
        if (r == RG_EAMQP) {
            RG_LOG(RG_LOG_WARN, RG_EVENT("pdf.amqp_lost"), RG_KV_STR("msg", ei.msg));
            __atomic_store_n(&stats->slot_ready[slot], 0, __ATOMIC_RELAXED);
            conns_close(&c);
            continue;
        }
        PDF_STAT_ADD(stats, busy, 1);
        enum pdf_outcome o;
        if (r != RG_ETOOBIG && d.message_id[0] &&
            pdf_crash_count(stats, d.message_id) >= PDF_MAX_CRASHES) {
            o = poison_result(d.body, d.len, &result, &run_id, &attempt);
            PDF_STAT_ADD(stats, tasks_poison, o == PDF_FAILED);
            RG_LOG(RG_LOG_ERROR, RG_EVENT("pdf.task_poison"), RG_KV_STR("message_id", d.message_id),
                   RG_KV_I64("crashes", pdf_crash_count(stats, d.message_id)));
        } else {
            /* Say what we hold, so that the supervisor can blame this task if we die. */
            memcpy(stats->inflight[slot], d.message_id, PDF_MSGID_MAX);
            crash_if_asked(d.body, d.len);
            o = r == RG_ETOOBIG ? PDF_MALFORMED
                                : pdf_task_run(&ctx, d.body, d.len, &result, &run_id, &attempt);
            stats->inflight[slot][0] = '\0';
        }
        if (o == PDF_MALFORMED) {
            /* Dead-lettered to rg.dead through rg.render's DLX, counted, never retried:
             * a message that is not a task will not become one. */
            PDF_STAT_ADD(stats, tasks_malformed, 1);
            RG_LOG(RG_LOG_WARN, RG_EVENT("pdf.task_malformed"), RG_KV_STR("message_id", d.message_id),
                   RG_KV_I64("bytes", d.len));
            if (rg_amqp_reject(c.in, d.tag, 0) < 0)
                conns_close(&c);
            goto next;
        }
        text = json_dumps(result, JSON_COMPACT);
        char mid[128];
        snprintf(mid, sizeof mid, "%s:%lld:result", run_id, (long long)attempt);
        struct rg_amqp_msg m = {RG_AMQP_EX_RESULTS, RG_AMQP_RK_RESULT, mid, text, strlen(text), attempt, 0};
        int status = 0;
        int64_t tp = pdf_mono_us();
        r = rg_amqp_publish(c.out, &m, 1, &status, (int)cfg->amqp_timeout, &ei);
        if (r < 0 || status != 0) {
            /* Not confirmed, or unroutable (rg.results missing): give the task back so
             * it runs again once the broker is whole; never ack without a result. */
            PDF_STAT_ADD(stats, publish_errors, 1);
            RG_LOG(RG_LOG_WARN, RG_EVENT("pdf.result_publish_failed"), RG_KV_STR("run_id", run_id),
                   RG_KV_STR("msg", r < 0 ? ei.msg : status == -ENOENT ? "unroutable" : "nacked"));
            (void)rg_amqp_reject(c.in, d.tag, 1);
            conns_close(&c);
            sleep_ms(200);
            goto next;
        }
        if (rg_amqp_ack(c.in, d.tag) < 0) {
            conns_close(&c); /* redelivered: the duplicate result is ignored by rg-flow */
            goto next;
        }
        idle_since = pdf_mono_us();
        rg_hist_observe(&stats->publish, idle_since - tp);
        PDF_STAT_ADD(stats, tasks_ok, o == PDF_OK);
        PDF_STAT_ADD(stats, tasks_failed, o == PDF_FAILED);
    next:
        __atomic_sub_fetch(&stats->busy, 1, __ATOMIC_RELAXED);
        rg_free(text);
        rg_free(run_id);
        json_decref(result);
        rg_amqp_delivery_done(&d);
    }
    rc = 0;
out:
    __atomic_store_n(&stats->slot_ready[slot], 0, __ATOMIC_RELAXED);
    conns_close(&c);
    rg_storage_free(ctx.storage);
    rg_renderer_free(ctx.renderer);
    return rc;
}
