/* rg-flow: the workflow orchestrator.
 *
 * Threads: the relay thread (outbox -> RabbitMQ with confirms, the reaper that
 * re-dispatches timed-out steps, gauges), the results thread (rg.results -> run
 * transitions), the listener thread of /metrics and /healthz, and main, which only
 * waits for SIGTERM/SIGINT.  Each worker thread owns its PostgreSQL connection and its
 * RabbitMQ connection (rabbitmq-c connections are not thread safe).  All state is in
 * PostgreSQL: any replica may crash at any point and another (or itself, restarted)
 * continues; several replicas share the work through FOR UPDATE SKIP LOCKED.
 *
 * Shutdown: set the stop flag, join both threads (each finishes the transaction in
 * hand; an unapplied result goes back to the broker), stop the listener. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "flow.h"
#include "rg/amqp.h"
#include "rg/log.h"
#include "rg/mem.h"

static const char usage[] =
    "usage: rg-flow [--config PATH] [--set key=value]... [--check-config] [--print-config]\n"
    "Relays the outbox to RabbitMQ, applies results to workflow runs, retries and\n"
    "re-dispatches steps.  See docs/flow.md.\n";

static struct flow_stats stats;

static int metrics(void *arg, const char *path, struct rg_buf *b)
{
    struct flow_stats *st = arg;
#define L(x) (unsigned long long)__atomic_load_n(&st->x, __ATOMIC_RELAXED)
#define G(x) (long long)__atomic_load_n(&st->x, __ATOMIC_RELAXED)
    if (!strcmp(path, "/healthz")) {
        int ok = L(relay_ok) && L(results_ok);
        (void)rg_buf_puts(b, ok ? "ok\n" : "not connected to PostgreSQL and RabbitMQ\n");
        return ok ? 200 : 503;
    }
    if (strcmp(path, "/metrics")) {
        (void)rg_buf_puts(b, "not found\n");
        return 404;
    }
    int r = rg_buf_printf(
        b,
        "# TYPE rg_flow_published_total counter\nrg_flow_published_total %llu\n"
        "# TYPE rg_flow_notify_unrouted_total counter\nrg_flow_notify_unrouted_total %llu\n"
        "# TYPE rg_flow_publish_failures_total counter\nrg_flow_publish_failures_total %llu\n"
        "# TYPE rg_flow_dispatched_total counter\nrg_flow_dispatched_total %llu\n"
        "# TYPE rg_flow_results_total counter\n"
        "rg_flow_results_total{outcome=\"done\"} %llu\n"
        "rg_flow_results_total{outcome=\"retry\"} %llu\n"
        "rg_flow_results_total{outcome=\"failed\"} %llu\n"
        "rg_flow_results_total{outcome=\"duplicate\"} %llu\n"
        "rg_flow_results_total{outcome=\"stale\"} %llu\n"
        "rg_flow_results_total{outcome=\"unknown\"} %llu\n"
        "rg_flow_results_total{outcome=\"malformed\"} %llu\n"
        "# TYPE rg_flow_retries_total counter\nrg_flow_retries_total %llu\n"
        "# TYPE rg_flow_dead_letters_total counter\nrg_flow_dead_letters_total %llu\n"
        "# TYPE rg_flow_steps_timed_out_total counter\nrg_flow_steps_timed_out_total %llu\n"
        "# TYPE rg_flow_reconnects_total counter\n"
        "rg_flow_reconnects_total{to=\"postgres\"} %llu\nrg_flow_reconnects_total{to=\"rabbitmq\"} %llu\n"
        "# TYPE rg_flow_queue_depth gauge\n"
        "rg_flow_queue_depth{queue=\"rg.render\"} %lld\nrg_flow_queue_depth{queue=\"rg.results\"} %lld\n"
        "rg_flow_queue_depth{queue=\"rg.dead\"} %lld\n"
        "# TYPE rg_flow_outbox_backlog gauge\nrg_flow_outbox_backlog %lld\n"
        "# TYPE rg_flow_outbox_vacuums_total counter\nrg_flow_outbox_vacuums_total %llu\n"
        "# TYPE rg_flow_runs gauge\n"
        "rg_flow_runs{state=\"queued\"} %lld\nrg_flow_runs{state=\"running\"} %lld\n"
        "rg_flow_runs{state=\"done\"} %lld\nrg_flow_runs{state=\"failed\"} %lld\n",
        L(published), L(published_notify_unrouted), L(publish_failures), L(dispatched),
        L(results_done), L(results_retry), L(results_failed), L(results_duplicate),
        L(results_stale), L(results_unknown), L(results_malformed), L(results_retry) + L(reaped),
        L(results_malformed), L(reaped), L(pg_reconnects), L(amqp_reconnects), G(depth_render),
        G(depth_results), G(depth_dead), G(outbox_backlog), L(outbox_vacuums), G(runs_queued), G(runs_running),
        G(runs_done), G(runs_failed));
#undef L
#undef G
    const struct {
        const char *name;
        const struct rg_hist *h;
    } hists[] = {{"rg_flow_run_seconds", &st->run_latency},
                 {"rg_flow_render_seconds", &st->render},
                 {"rg_flow_relay_batch_seconds", &st->relay_batch}};
    for (size_t i = 0; r == 0 && i < sizeof hists / sizeof *hists; i++)
        r = rg_hist_write_typed(b, hists[i].name, hists[i].h);
    return r == 0 ? 200 : 500;
}

int main(int argc, char **argv)
{
    static struct flow_config cfg;
    static volatile int stop;
    struct rg_errinfo ei = {0};
    struct rg_cfg_args args;
    int rc = 1, sig = 0, started = 0;
    struct rg_httpd *httpd = NULL;
    pthread_t relay, results;
    sigset_t set;

    rg_log_setup("flow", RG_LOG_INFO, 1);
    int early = rg_cfg_args_parse(&args, argc, argv, "flow", flow_cfg_opts, usage);
    if (early >= 0)
        return early;
    if (flow_config_load(&cfg, args.path, args.sets, args.nsets, &ei) < 0) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("flow.config_invalid"), RG_KV_STR("msg", ei.msg));
        rc = EX_CONFIG;
        goto out;
    }
    if (args.check_only) {
        rc = 0;
        goto out;
    }
    enum rg_log_level lvl;
    if (rg_log_level_parse(cfg.log_level, &lvl) == 0)
        rg_log_min = lvl;
    flow_crash_init();
    RG_LOG(RG_LOG_INFO, RG_EVENT("flow.start"), RG_KV_STR("replica", cfg.replica),
           RG_KV_I64("retry_base_ms", cfg.retry_base), RG_KV_I64("retry_tiers", cfg.ntiers),
           RG_KV_I64("step_timeout_ms", cfg.step_timeout), RG_KV_I64("port", cfg.port));

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    struct flow_ctx ctx = {.cfg = &cfg, .stats = &stats, .stop = &stop};
    httpd = rg_httpd_start(cfg.listen_addr, (int)cfg.port, metrics, &stats, &ei);
    if (!httpd) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("flow.listen_failed"), RG_KV_STR("msg", ei.msg));
        goto out;
    }
    if (pthread_create(&relay, NULL, flow_relay_main, &ctx) != 0)
        goto out;
    if (pthread_create(&results, NULL, flow_results_main, &ctx) != 0) {
        stop = 1;
        pthread_join(relay, NULL);
        goto out;
    }
    started = 1;
    sigdelset(&set, SIGPIPE);
    sigwait(&set, &sig);
    RG_LOG(RG_LOG_INFO, RG_EVENT("flow.stopping"), RG_KV_I64("signal", sig));
    stop = 1;
    rc = 0;
out:
    if (started) {
        pthread_join(relay, NULL);
        pthread_join(results, NULL);
        RG_LOG(RG_LOG_INFO, RG_EVENT("flow.stopped"));
    }
    rg_httpd_stop(httpd);
    flow_config_done(&cfg);
    rg_cfg_args_done(&args);
    return rc;
}
