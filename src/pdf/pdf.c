/* rg-pdf: the render worker daemon.
 *
 * Process model: cairo 1.16 is not safe with renderers in several threads of one
 * process, so concurrency is by process.  This supervisor forks `slots` render children;
 * each owns a renderer, a storage handle and its own AMQP connections, and consumes
 * rg.render with prefetch 1, so the service's prefetch in total equals its render slots.
 * The supervisor only serves /metrics and /healthz (one libmicrohttpd thread, started
 * after the forks so no child inherits a thread) and restarts children that die.
 * Counters live in an anonymous shared mapping updated with atomics.
 *
 * Shutdown (SIGTERM/SIGINT): the supervisor forwards SIGTERM; each child finishes the
 * task in hand (render, store, publish, ack) and exits; after stop_grace the remaining
 * ones are killed, and their unacked tasks go back to the queue.  A child whose
 * supervisor dies gets SIGTERM from the kernel (PR_SET_PDEATHSIG) and does the same. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "pdf.h"
#include "rg/log.h"
#include "rg/mem.h"

static const char usage[] =
    "usage: rg-pdf [--config PATH] [--set key=value]... [--check-config] [--print-config]\n"
    "Consumes render tasks from RabbitMQ (rg.render), renders, stores the PDF under its\n"
    "SHA-256 and publishes the result to rg.results.  See docs/flow.md.\n";

static volatile int child_stop;

static void on_term(int sig)
{
    (void)sig;
    child_stop = 1;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct slot {
    pid_t pid;
    int64_t started;
};

static pid_t spawn(const struct pdf_config *cfg, struct pdf_stats *stats, int slot,
                   const sigset_t *blocked)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* The child: its own signal handling, death with the parent. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGCHLD, SIG_DFL);
    (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1)
        child_stop = 1;
    sigprocmask(SIG_UNBLOCK, blocked, NULL);
    _exit(pdf_worker_main(cfg, stats, slot, &child_stop));
}

static int metrics(void *arg, const char *path, struct rg_buf *b)
{
    struct pdf_stats *st = arg;
    uint64_t ready = 0;
    for (int i = 0; i < PDF_MAX_SLOTS; i++)
        ready += __atomic_load_n(&st->slot_ready[i], __ATOMIC_RELAXED);
#define L(x) __atomic_load_n(&st->x, __ATOMIC_RELAXED)
    if (!strcmp(path, "/healthz")) {
        int ok = ready > 0;
        (void)rg_buf_puts(b, ok ? "ok\n" : "starting: no render process is connected yet\n");
        return ok ? 200 : 503;
    }
    if (strcmp(path, "/metrics")) {
        (void)rg_buf_puts(b, "not found\n");
        return 404;
    }
    int r = rg_buf_printf(
        b,
        "# TYPE rg_pdf_tasks_total counter\n"
        "rg_pdf_tasks_total{outcome=\"ok\"} %llu\n"
        "rg_pdf_tasks_total{outcome=\"failed\"} %llu\n"
        "rg_pdf_tasks_total{outcome=\"malformed\"} %llu\n"
        "rg_pdf_tasks_total{outcome=\"poison\"} %llu\n"
        "# TYPE rg_pdf_dead_letters_total counter\nrg_pdf_dead_letters_total %llu\n"
        "# TYPE rg_pdf_objects_stored_total counter\nrg_pdf_objects_stored_total %llu\n"
        "# TYPE rg_pdf_objects_existing_total counter\nrg_pdf_objects_existing_total %llu\n"
        "# TYPE rg_pdf_result_publish_errors_total counter\nrg_pdf_result_publish_errors_total %llu\n"
        "# TYPE rg_pdf_amqp_connects_total counter\nrg_pdf_amqp_connects_total %llu\n"
        "# TYPE rg_pdf_children_restarted_total counter\nrg_pdf_children_restarted_total %llu\n"
        "# TYPE rg_pdf_busy_slots gauge\nrg_pdf_busy_slots %llu\n"
        "# TYPE rg_pdf_ready_slots gauge\nrg_pdf_ready_slots %llu\n",
        (unsigned long long)L(tasks_ok), (unsigned long long)L(tasks_failed),
        (unsigned long long)L(tasks_malformed), (unsigned long long)L(tasks_poison),
        (unsigned long long)L(tasks_malformed),
        (unsigned long long)L(stored), (unsigned long long)L(store_skipped),
        (unsigned long long)L(publish_errors), (unsigned long long)L(amqp_reconnects),
        (unsigned long long)L(children_restarted), (unsigned long long)L(busy),
        (unsigned long long)ready);
#undef L
    const struct {
        const char *name;
        const struct rg_hist *h;
    } hists[] = {{"rg_pdf_render_seconds", &st->render},
                 {"rg_pdf_task_seconds", &st->task},
                 {"rg_pdf_store_seconds", &st->store},
                 {"rg_pdf_result_publish_seconds", &st->publish},
                 {"rg_pdf_idle_seconds", &st->idle}};
    for (size_t i = 0; r == 0 && i < sizeof hists / sizeof *hists; i++)
        r = rg_hist_write_typed(b, hists[i].name, hists[i].h);
    return r == 0 ? 200 : 500;
}

void pdf_crash_note(struct pdf_stats *st, const char *message_id)
{
    for (uint32_t i = 0; i < PDF_CRASH_SLOTS; i++)
        if (!strcmp(st->crashed[i].message_id, message_id)) {
            __atomic_add_fetch(&st->crashed[i].crashes, 1, __ATOMIC_RELAXED);
            return;
        }
    uint32_t k = st->crashed_next++ % PDF_CRASH_SLOTS;
    __atomic_store_n(&st->crashed[k].crashes, 0, __ATOMIC_RELAXED);
    snprintf(st->crashed[k].message_id, PDF_MSGID_MAX, "%s", message_id);
    __atomic_store_n(&st->crashed[k].crashes, 1, __ATOMIC_RELAXED);
}

uint32_t pdf_crash_count(const struct pdf_stats *st, const char *message_id)
{
    for (uint32_t i = 0; i < PDF_CRASH_SLOTS; i++)
        if (st->crashed[i].message_id[0] && !strcmp(st->crashed[i].message_id, message_id))
            return __atomic_load_n(&st->crashed[i].crashes, __ATOMIC_RELAXED);
    return 0;
}

int main(int argc, char **argv)
{
    static struct pdf_config cfg;
    struct rg_errinfo ei = {0};
    struct rg_cfg_args args;
    int rc = 1, stopping = 0;
    struct pdf_stats *stats = MAP_FAILED;
    struct rg_httpd *httpd = NULL;
    struct slot *slots = NULL;
    int64_t deadline = 0;
    sigset_t set;

    rg_log_setup("pdf", RG_LOG_INFO, 1);
    int early = rg_cfg_args_parse(&args, argc, argv, "pdf", pdf_cfg_opts, usage);
    if (early >= 0)
        return early;
    if (pdf_config_load(&cfg, args.path, args.sets, args.nsets, &ei) < 0) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("pdf.config_invalid"), RG_KV_STR("msg", ei.msg));
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
    RG_LOG(RG_LOG_INFO, RG_EVENT("pdf.start"), RG_KV_I64("slots", cfg.slots),
           RG_KV_STR("storage", cfg.storage), RG_KV_I64("port", cfg.port));

    stats = mmap(NULL, sizeof *stats, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (stats == MAP_FAILED) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("pdf.mmap_failed"), RG_KV_ERR(-errno));
        goto out;
    }
    memset(stats, 0, sizeof *stats);

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    slots = rg_calloc((size_t)cfg.slots, sizeof *slots);
    for (int64_t i = 0; i < cfg.slots; i++) {
        slots[i].pid = spawn(&cfg, stats, (int)i, &set);
        slots[i].started = mono_ms();
    }
    httpd = rg_httpd_start(cfg.listen_addr, (int)cfg.port, metrics, stats, &ei);
    if (!httpd) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("pdf.listen_failed"), RG_KV_STR("msg", ei.msg));
        stopping = 1;
        deadline = mono_ms();
        for (int64_t i = 0; i < cfg.slots; i++)
            if (slots[i].pid > 0)
                kill(slots[i].pid, SIGTERM);
    }

    for (;;) {
        struct timespec tmo = {0, 200 * 1000000L};
        siginfo_t info;
        int sig = sigtimedwait(&set, &info, &tmo);
        if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
            RG_LOG(RG_LOG_INFO, RG_EVENT("pdf.stopping"), RG_KV_I64("signal", sig));
            stopping = 1;
            deadline = mono_ms() + cfg.stop_grace;
            for (int64_t i = 0; i < cfg.slots; i++)
                if (slots[i].pid > 0)
                    kill(slots[i].pid, SIGTERM);
        }
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (int64_t i = 0; i < cfg.slots; i++) {
                if (slots[i].pid != pid)
                    continue;
                slots[i].pid = 0;
                __atomic_store_n(&stats->slot_ready[i], 0, __ATOMIC_RELAXED);
                if (stopping)
                    break;
                /* A child that dies (a crash, a kill -9) loses nothing: its task is
                 * redelivered.  Remember which task it held (a task that keeps killing
                 * renderers is failed, see pdf.h).  Restart it, slowly if it keeps
                 * dying at once. */
                if (stats->inflight[i][0]) {
                    pdf_crash_note(stats, stats->inflight[i]);
                    stats->inflight[i][0] = '\0';
                }
                RG_LOG(RG_LOG_WARN, RG_EVENT("pdf.child_died"), RG_KV_I64("pid", pid),
                       RG_KV_I64("status", WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status)));
                if (mono_ms() - slots[i].started < 1000)
                    usleep(500 * 1000);
                slots[i].pid = spawn(&cfg, stats, (int)i, &set);
                slots[i].started = mono_ms();
                PDF_STAT_ADD(stats, children_restarted, 1);
            }
        }
        if (stopping) {
            int alive = 0;
            for (int64_t i = 0; i < cfg.slots; i++)
                alive += slots[i].pid > 0;
            if (!alive)
                break;
            if (mono_ms() > deadline) {
                RG_LOG(RG_LOG_WARN, RG_EVENT("pdf.stop_grace_exceeded"), RG_KV_I64("alive", alive));
                for (int64_t i = 0; i < cfg.slots; i++)
                    if (slots[i].pid > 0)
                        kill(slots[i].pid, SIGKILL);
                deadline = mono_ms() + 60000;
            }
        }
    }
    RG_LOG(RG_LOG_INFO, RG_EVENT("pdf.stopped"));
    rc = 0;
out:
    rg_httpd_stop(httpd);
    rg_free(slots);
    if (stats != MAP_FAILED)
        munmap(stats, sizeof *stats);
    pdf_config_done(&cfg);
    rg_cfg_args_done(&args);
    return rc;
}
