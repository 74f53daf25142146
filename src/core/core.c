/* rg-core: the HTTP API service of ResumeGo.
 *
 * Threads: the main thread only loads the config, starts libmicrohttpd and then waits
 * in sigwait() for SIGTERM/SIGINT.  MHD runs a pool of worker threads (each with its own
 * epoll set, PostgreSQL connection and Redis context); every request is handled start to
 * finish on one of them.  Two more threads: core-http.c's reaper cuts off requests that
 * do not arrive within request_timeout (slow senders), and the purge thread here wakes up
 * hourly to delete resumes that stayed in the trash past trash_days.
 *
 * Signals are blocked in every thread before any is created, so they arrive only at
 * sigwait() and no handler runs in the middle of library code.
 *
 * Shutdown order: stop accepting connections; give requests in flight up to 5 s to
 * finish; stop the reaper; stop MHD (joins its workers, whose thread-exit destructors
 * close their database and Redis connections); stop the purge thread; free the config.
 * Exit 0. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "rg/log.h"
#include "rg/mem.h"

#define EX_CONFIG 78
#define SHUTDOWN_GRACE_MS 5000
#define PURGE_EVERY_S 3600

static const char usage[] =
    "usage: rg-core [--config PATH] [--set key=value]... [--check-config] [--print-config]\n"
    "\n"
    "The ResumeGo HTTP API.  Configuration: defaults < file (--config, $RG_CORE_CONFIG, or\n"
    "/etc/resumego/core.conf when it exists) < RG_CORE_<KEY> environment < --set.\n"
    "  --check-config  validate the configuration and exit (0 ok, 78 invalid)\n"
    "  --print-config  write a commented example configuration to stdout\n";

static pthread_mutex_t purge_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t purge_cond = PTHREAD_COND_INITIALIZER;
static int purge_stop;

static void *purge_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&purge_lock);
    while (!purge_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += PURGE_EVERY_S;
        pthread_mutex_unlock(&purge_lock);
        int n = core_resumes_purge();
        if (n != 0)
            RG_LOG(n < 0 ? RG_LOG_WARN : RG_LOG_INFO, RG_EVENT("resume.purged"),
                   RG_KV_I64("count", n < 0 ? 0 : n), RG_KV_ERR(n < 0 ? n : 0));
        pthread_mutex_lock(&purge_lock);
        while (!purge_stop && pthread_cond_timedwait(&purge_cond, &purge_lock, &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&purge_lock);
    core_pg_thread_done();
    return NULL;
}

int main(int argc, char **argv)
{
    static struct core_config cfg;
    struct rg_errinfo ei = {0};
    struct rg_cfg_args args;
    int rc = 1, sig = 0;
    pthread_t purge;
    int purge_started = 0;
    sigset_t set;

    rg_log_setup("core", RG_LOG_INFO, 1);
    int early = rg_cfg_args_parse(&args, argc, argv, "core", core_cfg_opts, usage);
    if (early >= 0)
        return early;
    if (core_config_load(&cfg, args.path, args.sets, args.nsets, &ei) < 0) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("core.config_invalid"), RG_KV_STR("msg", ei.msg));
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
    core_cfg = &cfg;
    core_config_log(&cfg);

    /* argon2 allocates its memory cost per hash; without a fixed threshold glibc raises its
     * mmap threshold after the first free and keeps those megabytes in the heap for ever. */
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* After the mask: the flusher thread must not take the signals sigwait waits for. */
    if (cfg.log_flush_ms > 0)
        (void)rg_log_buffer((long)cfg.log_flush_ms);

    core_auth_init();
    core_themes_init();
    if (core_http_start() < 0)
        goto out;
    purge_started = pthread_create(&purge, NULL, purge_main, NULL) == 0;
    RG_LOG(RG_LOG_INFO, RG_EVENT("core.started"));

    sigdelset(&set, SIGPIPE);
    while (sigwait(&set, &sig) != 0)
        ;
    RG_LOG(RG_LOG_INFO, RG_EVENT("core.stopping"), RG_KV_I64("signal", sig));
    core_http_stop(SHUTDOWN_GRACE_MS);
    if (purge_started) {
        pthread_mutex_lock(&purge_lock);
        purge_stop = 1;
        pthread_cond_signal(&purge_cond);
        pthread_mutex_unlock(&purge_lock);
        pthread_join(purge, NULL);
    }
    core_themes_done();
    int rendering = core_preview_done();
    RG_LOG(RG_LOG_INFO, RG_EVENT("core.stopped"));
    rc = 0;
    if (rendering) {
        /* The render thread is still in pango: exit()'s handlers would free what it is
         * using (harfbuzz frees its language list at exit), so the process ends here. */
        rg_log_flush();
        fflush(NULL);
        _exit(0);
    }
out:
    rg_cfg_done(core_cfg_opts, &cfg);
    rg_cfg_args_done(&args);
    return rc;
}
