/* rg-notify: the WebSocket hub (docs/notify.md).
 *
 * Threads: main runs the libwebsockets service loop (Debian's lws has one service
 * thread, LWS_MAX_SMP = 1) and is the only thread that calls lws_* — except
 * lws_cancel_service, which the others call to wake it; the broker thread consumes
 * rg.notify (notify-broker.c); the store thread looks sessions up in Redis and replays
 * from PostgreSQL (notify-store.c); the signal thread waits for SIGTERM/SIGINT; the
 * listener thread of lib-httpd serves /metrics and /healthz on their own port.
 *
 * Shutdown: the signal thread sets hub.stop and wakes the loop; every socket is closed
 * with 1001 (clients reconnect with `since`, to another hub or this one restarted) and the
 * loop runs until they are gone or 3 s have passed; then the broker and store threads are
 * joined, the context destroyed, the listener stopped.  A hub holds nothing durable, so a
 * SIGKILL loses nothing either: the clients' replay covers it. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "rg/log.h"
#include "rg/mem.h"

static const char usage[] =
    "usage: rg-notify [--config PATH] [--set key=value]... [--check-config] [--print-config]\n"
    "Serves WebSocket /ws: pushes users' notifications from RabbitMQ (rg.notify) to\n"
    "their sockets and replays missed ones from PostgreSQL.  See docs/notify.md.\n";

static struct notify_stats stats;
static struct notify_hub hub;
static sigset_t sigs;

static int metrics(void *arg, const char *path, struct rg_buf *b)
{
    struct notify_stats *s = arg;
#define L(x) (unsigned long long)NOTIFY_GET(s, x)
    if (!strcmp(path, "/healthz")) {
        int ok = L(broker_ok) && L(pg_ok) && L(redis_ok);
        (void)rg_buf_printf(b, "%s\nrabbitmq %s\npostgres %s\nredis %s\n", ok ? "ok" : "degraded",
                            L(broker_ok) ? "up" : "down", L(pg_ok) ? "up" : "down",
                            L(redis_ok) ? "up" : "down");
        return ok ? 200 : 503;
    }
    if (strcmp(path, "/metrics")) {
        (void)rg_buf_puts(b, "not found\n");
        return 404;
    }
    int r = rg_buf_printf(
        b,
        "# TYPE rg_notify_connections gauge\nrg_notify_connections %llu\n"
        "# TYPE rg_notify_connections_total counter\nrg_notify_connections_total %llu\n"
        "# TYPE rg_notify_authenticated_total counter\nrg_notify_authenticated_total %llu\n"
        "# TYPE rg_notify_rejected_total counter\n"
        "rg_notify_rejected_total{reason=\"auth\"} %llu\n"
        "rg_notify_rejected_total{reason=\"max_connections\"} %llu\n"
        "rg_notify_rejected_total{reason=\"max_per_user\"} %llu\n"
        "# TYPE rg_notify_closed_total counter\n"
        "rg_notify_closed_total{reason=\"slow\"} %llu\n"
        "rg_notify_closed_total{reason=\"too_big\"} %llu\n"
        "rg_notify_closed_total{reason=\"protocol\"} %llu\n"
        "# TYPE rg_notify_messages_in_total counter\nrg_notify_messages_in_total %llu\n"
        "# TYPE rg_notify_messages_out_total counter\nrg_notify_messages_out_total %llu\n"
        "# TYPE rg_notify_messages_dropped_total counter\n"
        "rg_notify_messages_dropped_total{reason=\"no_socket\"} %llu\n"
        "rg_notify_messages_dropped_total{reason=\"duplicate\"} %llu\n"
        "rg_notify_messages_dropped_total{reason=\"malformed\"} %llu\n"
        "# TYPE rg_notify_replays_total counter\nrg_notify_replays_total %llu\n"
        "# TYPE rg_notify_replayed_messages_total counter\nrg_notify_replayed_messages_total %llu\n"
        "# TYPE rg_notify_resyncs_total counter\nrg_notify_resyncs_total %llu\n"
        "# TYPE rg_notify_broker_reconnects_total counter\nrg_notify_broker_reconnects_total %llu\n"
        "# TYPE rg_notify_store_errors_total counter\nrg_notify_store_errors_total %llu\n"
        "# TYPE rg_notify_gap_fills_total counter\nrg_notify_gap_fills_total %llu\n"
        "# TYPE rg_notify_up gauge\n"
        "rg_notify_up{backend=\"rabbitmq\"} %llu\nrg_notify_up{backend=\"postgres\"} %llu\n"
        "rg_notify_up{backend=\"redis\"} %llu\n"
        "# TYPE rg_notify_delivery_seconds histogram\n",
        L(connections), L(connections_total), L(authenticated), L(auth_failures), L(rejected_full),
        L(rejected_user), L(slow_closes), L(oversize_closes), L(protocol_closes), L(msgs_in),
        L(msgs_out), L(msgs_unrouted), L(msgs_duplicate), L(msgs_malformed), L(replays),
        L(replayed), L(resyncs), L(broker_reconnects), L(store_errors), L(gap_fills), L(broker_ok), L(pg_ok),
        L(redis_ok));
#undef L
    if (r == 0)
        r = rg_hist_write(b, "rg_notify_delivery_seconds", NULL, &s->latency);
    return r == 0 ? 200 : 500;
}

static void *signal_main(void *arg)
{
    int sig = 0;
    sigset_t set = sigs;
    sigdelset(&set, SIGPIPE);
    sigwait(&set, &sig);
    RG_LOG(RG_LOG_INFO, RG_EVENT("notify.stopping"), RG_KV_I64("signal", sig));
    pthread_mutex_lock(&hub.mu);
    hub.stop = 1;
    pthread_cond_broadcast(&hub.jobs_cv);
    pthread_mutex_unlock(&hub.mu);
    lws_cancel_service(hub.lws);
    return NULL;
}

/* lws's log lines, at most LOG_BURST a second: a peer that repeats what makes lws
 * complain must not flood the log.  What was left out is counted in the next line. */
#define LOG_BURST 10
static int64_t log_window, log_lines, log_dropped;

static int64_t mono_ms(void);

static void lws_logger(int level, const char *line)
{
    char msg[512];
    int64_t now = mono_ms();
    if (now - log_window >= 1000) {
        log_window = now;
        log_lines = 0;
    }
    if (++log_lines > LOG_BURST) {
        log_dropped++;
        return;
    }
    snprintf(msg, sizeof msg, "%s", line);
    msg[strcspn(msg, "\n")] = 0;
    RG_LOG(level & LLL_ERR ? RG_LOG_ERROR : RG_LOG_WARN, RG_EVENT("notify.lws"),
           RG_KV_STR("msg", msg), RG_KV_I64("suppressed_before", log_dropped));
    log_dropped = 0;
}

/* Each socket is a file descriptor.  The soft limit is raised to fit max_connections plus
 * NOTIFY_FD_RESERVE (the hub's own descriptors and sockets still in their handshake), as
 * far as the hard limit allows; when it does not, max_connections is lowered to fit, so
 * that the hub refuses extra clients itself instead of running out of descriptors.  lws
 * sizes its fd table from this limit.  Returns the limit, or -1. */
static int64_t set_fd_limit(struct notify_config *cfg)
{
    struct rlimit rl;
    int64_t want = cfg->max_connections + NOTIFY_FD_RESERVE;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if ((int64_t)rl.rlim_cur != want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || (int64_t)rl.rlim_max >= want ? (rlim_t)want
                                                                                   : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
            return -1;
    }
    int64_t limit = (int64_t)rl.rlim_cur;
    if (limit < want) {
        int64_t was = cfg->max_connections;
        cfg->max_connections = limit - NOTIFY_FD_RESERVE;
        if (cfg->max_connections < 1)
            return -1;
        RG_LOG(RG_LOG_WARN, RG_EVENT("notify.max_connections_lowered"),
               RG_KV_I64("max_connections", cfg->max_connections), RG_KV_I64("configured", was),
               RG_KV_I64("fd_limit", limit), RG_KV_I64("reserve", NOTIFY_FD_RESERVE));
    }
    return limit;
}

/* ---- the listener ------------------------------------------------------------------------
 * The hub accepts connections itself and hands them to lws (lws_adopt_socket): lws's own
 * listener, when accept() fails for want of descriptors, logs and returns, and the
 * listening socket, still readable, wakes the loop again at once, for ever.  Here a
 * connection past what the hub holds (max_connections plus sockets in their handshake)
 * is answered 503 and closed, and when descriptors run out anyway (another part of the
 * process) one spare descriptor is given up to take the connection off the backlog and
 * answer it, and the listener pauses LISTEN_PAUSE_MS. */
#define LISTEN_PAUSE_MS 100
static int listen_fd = -1, spare_fd = -1;
static int64_t sock_limit, last_full_log, full_refused;
static ev_io listen_io;
static ev_timer listen_pause;
static const char busy_reply[] = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                                 "Content-Type: text/plain\r\nContent-Length: 23\r\n"
                                 "Retry-After: 5\r\n\r\nhub full, retry later.\n";

static void refuse_busy(int fd)
{
    ssize_t n = send(fd, busy_reply, sizeof busy_reply - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n;
    close(fd);
    NOTIFY_ADD(&stats, rejected_full, 1);
    full_refused++;
    int64_t now = mono_ms();
    if (now - last_full_log >= 1000) {
        RG_LOG(RG_LOG_WARN, RG_EVENT("notify.full"), RG_KV_I64("refused", full_refused),
               RG_KV_I64("sockets", notify_ws_sockets()), RG_KV_I64("limit", sock_limit));
        last_full_log = now;
        full_refused = 0;
    }
}

static void listen_resume_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)w, (void)revents;
    ev_io_start(l, &listen_io);
}

static void listen_cb(struct ev_loop *l, ev_io *w, int revents)
{
    (void)w, (void)revents;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                if (spare_fd >= 0) {
                    close(spare_fd);
                    fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd >= 0)
                        refuse_busy(fd);
                    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                }
                ev_io_stop(l, &listen_io);
                ev_timer_set(&listen_pause, LISTEN_PAUSE_MS / 1000.0, 0);
                ev_timer_start(l, &listen_pause);
            }
            return; /* EAGAIN: the backlog is empty */
        }
        if (notify_ws_sockets() >= sock_limit) {
            refuse_busy(fd);
            continue;
        }
        if (!lws_adopt_socket(hub.lws, fd))
            RG_LOG(RG_LOG_WARN, RG_EVENT("notify.adopt_failed")); /* lws closed fd */
    }
}

static int listen_open(const struct notify_config *cfg)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", (int)cfg->port);
    if (getaddrinfo(cfg->listen_addr, port, &hints, &ai) != 0 || !ai)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
                    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0)) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Wakes the loop during the shutdown's wait for the sockets to close. */
static void tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l, (void)w, (void)revents;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    static struct notify_config cfg;
    struct rg_errinfo ei = {0};
    struct rg_cfg_args args;
    int rc = 1, threads = 0;
    struct rg_httpd *httpd = NULL;
    struct ev_loop *loop = NULL;
    pthread_t broker, store, sigthr;

    rg_log_setup("notify", RG_LOG_INFO, 1);
    int early = rg_cfg_args_parse(&args, argc, argv, "notify", notify_cfg_opts, usage);
    if (early >= 0)
        return early;
    if (notify_config_load(&cfg, args.path, args.sets, args.nsets, &ei) < 0) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("notify.config_invalid"), RG_KV_STR("msg", ei.msg));
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
    if (set_fd_limit(&cfg) < 0) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("notify.fd_limit_failed"),
               RG_KV_STR("msg", "the open-file limit leaves no room for sockets"));
        rc = EX_OSERR;
        goto out;
    }
    /* Sockets lws holds at most: the WebSocket connections and those still in their
     * handshake (the rest of the reserve is the hub's own descriptors). */
    sock_limit = cfg.max_connections + NOTIFY_FD_RESERVE / 2;

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    hub.cfg = &cfg;
    hub.stats = &stats;
    pthread_mutex_init(&hub.mu, NULL);
    pthread_cond_init(&hub.jobs_cv, NULL);
    hub.inbox_tail = &hub.inbox;
    hub.jobs_tail = &hub.jobs;
    hub.answers_tail = &hub.answers;
    notify_ws_init(&hub);

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_logger);
    /* The loop is libev's (epoll), not lws's own poll(): poll() walks every socket on each
     * wake-up, which with 10,000 idle sockets costs milliseconds per message. */
    loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (!loop) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("notify.loop_failed"));
        goto out;
    }
    void *loops[] = {loop};
    /* lws's own ping/idle timers are off (a policy without hangup time schedules none):
     * lws keeps one timer per socket in a sorted list, re-inserted on each ping and pong,
     * and 10,000 sockets pinged together cost seconds of the service thread.  notify-ws.c
     * pings and hangs up from one scan instead (ping_interval, idle_timeout). */
    static lws_retry_bo_t retry;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = notify_protocols;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_LIBEV;
    info.foreign_loops = loops;
    info.retry_and_idle_policy = &retry;
    info.max_http_header_data = 4096;
    info.timeout_secs = 10;
    info.user = &hub;
    hub.lws = lws_create_context(&info);
    listen_fd = hub.lws ? listen_open(&cfg) : -1;
    if (!hub.lws || listen_fd < 0) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("notify.listen_failed"), RG_KV_STR("addr", cfg.listen_addr),
               RG_KV_I64("port", cfg.port));
        goto out;
    }
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ev_io_init(&listen_io, listen_cb, listen_fd, EV_READ);
    ev_io_start(loop, &listen_io);
    ev_timer_init(&listen_pause, listen_resume_cb, LISTEN_PAUSE_MS / 1000.0, 0);
    httpd = rg_httpd_start(cfg.metrics_addr, (int)cfg.metrics_port, metrics, &stats, &ei);
    if (!httpd) {
        RG_LOG(RG_LOG_ERROR, RG_EVENT("notify.listen_failed"), RG_KV_STR("msg", ei.msg));
        goto out;
    }
    if (pthread_create(&store, NULL, notify_store_main, &hub) != 0)
        goto out;
    threads = 1;
    if (pthread_create(&broker, NULL, notify_broker_main, &hub) != 0) {
        hub.stop = 1;
        goto out;
    }
    threads = 2;
    if (pthread_create(&sigthr, NULL, signal_main, NULL) != 0) {
        hub.stop = 1;
        goto out;
    }
    threads = 3;
    RG_LOG(RG_LOG_INFO, RG_EVENT("notify.start"), RG_KV_STR("addr", cfg.listen_addr),
           RG_KV_I64("port", cfg.port), RG_KV_I64("metrics_port", cfg.metrics_port),
           RG_KV_I64("max_connections", cfg.max_connections),
           RG_KV_I64("queue_max", cfg.queue_max), RG_KV_I64("replay_max", cfg.replay_max));

    /* The signal thread's lws_cancel_service wakes the loop: stop is seen right after. */
    while (!hub.stop)
        ev_run(loop, EVRUN_ONCE);
    ev_io_stop(loop, &listen_io);
    ev_timer_stop(loop, &listen_pause);
    close(listen_fd);
    listen_fd = -1;
    int left = notify_ws_shutdown();
    int64_t deadline = mono_ms() + 3000;
    ev_timer tick;
    ev_timer_init(&tick, tick_cb, 0.05, 0.05);
    ev_timer_start(loop, &tick);
    while (left > 0 && mono_ms() < deadline) {
        ev_run(loop, EVRUN_ONCE);
        left = notify_ws_open();
    }
    ev_timer_stop(loop, &tick);
    rc = 0;
out:
    hub.stop = 1;
    if (listen_fd >= 0)
        close(listen_fd);
    if (spare_fd >= 0)
        close(spare_fd);
    if (threads >= 1) {
        pthread_mutex_lock(&hub.mu);
        pthread_cond_broadcast(&hub.jobs_cv);
        pthread_mutex_unlock(&hub.mu);
        pthread_join(store, NULL);
    }
    if (threads >= 2)
        pthread_join(broker, NULL);
    if (threads >= 3) {
        pthread_cancel(sigthr); /* still in sigwait when we stopped for another reason */
        pthread_join(sigthr, NULL);
    }
    if (hub.lws)
        lws_context_destroy(hub.lws);
    if (loop)
        ev_loop_destroy(loop);
    /* Answers and messages the service thread never took. */
    while (hub.answers) {
        struct notify_job *j = hub.answers;
        hub.answers = j->next;
        while (j->rows) {
            struct notify_msg *m = j->rows;
            j->rows = m->next;
            rg_free(m);
        }
        rg_free(j);
    }
    while (hub.jobs) {
        struct notify_job *j = hub.jobs;
        hub.jobs = j->next;
        rg_free(j);
    }
    while (hub.inbox) {
        struct notify_msg *m = hub.inbox;
        hub.inbox = m->next;
        rg_free(m);
    }
    if (rc == 0)
        RG_LOG(RG_LOG_INFO, RG_EVENT("notify.stopped"));
    rg_httpd_stop(httpd);
    notify_config_done(&cfg);
    rg_cfg_args_done(&args);
    return rc;
}
