/* Load client for rg-notify (bench/bench-notify.sh starts the stack and runs it).
 *
 *   bench-notify PORT PG_URL AMQP_URL TOKENS_FILE HUB_PID CONNS RATE SECONDS
 *
 * TOKENS_FILE has one "<user id> <session token>" per line (sessions made by rg-core's
 * auth/register); connection i uses line i % lines, so each user has CONNS/lines sockets,
 * like tabs sharing a session cookie.
 *
 * Phase 1 (idle): opens CONNS WebSocket connections to ws://127.0.0.1:PORT/ws?token=...
 * with the libwebsockets client (at most 256 handshakes in flight), waits until every one
 * got `ready`, lets the hub settle for 3 s and reads the hub's resident memory (VmRSS of
 * HUB_PID) before the first connection and after: memory per idle connection.
 *
 * Phase 2 (fan-out): a publisher thread writes notifications the way rg-flow does and
 * relays them the way its outbox relay does.  Every 10 ms, one statement inserts RATE/100
 * `notifications` rows (a render.progress message each, the payload flow_notify() builds)
 * and their `outbox` rows for users taken round robin, and commits; then the outbox
 * payloads are published to rg.notify (key user.<id>, message id notify:<id>, persistent,
 * mandatory, publisher confirms: rg_amqp_publish, the relay's call); the next tick's
 * statement marks them published.  The writer's commits do not wait for the WAL flush
 * (synchronous_commit off): the hub is measured here, not the disk.  Just before each publish it records the time per notification
 * id; every socket of the user gets the message, and the receiving thread (this process,
 * same clock) takes receive time - publish time: broker-to-socket latency.  Reported:
 * p50/p99/max, deliveries of expected (drops, duplicates), deliveries/s, hub CPU and RSS.
 *
 * The client runs on the same machine as the hub: its own receive loop (one thread for
 * all sockets) is part of the latency it measures. */
#include <errno.h>
#include <ev.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rg/amqp.h"
#include "rg/buf.h"
#include "rg/mem.h"

struct conn {
    struct lws *wsi;
    int idx, ready, closed;
};

static struct lws_context *ctx;
static struct ev_loop *loop; /* libev (epoll) under lws, as in rg-notify */
static struct conn *conns;
static int nconns, port, started, nready, nclosed, inflight, nlost;
static char **tokens;
static int64_t *uids;
static int ntok;

/* Phase 2: per notification (index id - id_base), the publish time (publisher thread
 * writes before the publish, receiver reads) and the deliveries seen (receiver only). */
static int64_t id_base, id_cap;
static int64_t *t_pub;
static uint16_t *seen, *want; /* want: that user's sockets (publisher, read after join) */
static int64_t *lat_us;
static uint16_t *lat_sec; /* second of publishing it was sent in */
static size_t nlat, cap_lat;
static uint64_t unknown_ids;
static int64_t first_pub_us, last_recv_us;
static volatile int publishing, stop_all;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* utime + stime of pid in clock ticks, or -1. */
static long long cpu_ticks(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long long ut, stt;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
        return -1;
    return (long long)(ut + stt);
}

static double loadavg(void)
{
    double l[1] = {-1};
    return getloadavg(l, 1) == 1 ? l[0] : -1;
}

static void connect_one(struct conn *c)
{
    char path[128];
    struct lws_client_connect_info ci;
    snprintf(path, sizeof path, "/ws?token=%s", tokens[c->idx % ntok]);
    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
    ci.address = "127.0.0.1";
    /* From 127.0.0.2: the 10,000 ephemeral ports (and their TIME_WAITs) are then taken on
     * another address than the servers' 127.0.0.1 ports, which lie in the same range. */
    ci.iface = "127.0.0.2";
    ci.port = port;
    ci.path = path;
    ci.host = "127.0.0.1";
    ci.origin = "127.0.0.1";
    ci.protocol = "resumego.v1";
    ci.userdata = c;
    ci.pwsi = &c->wsi;
    inflight++;
    if (!lws_client_connect_via_info(&ci)) {
        inflight--;
        c->closed = 1;
        nclosed++;
    }
}

static lws_sorted_usec_list_t sul_connect;
static void connect_more(lws_sorted_usec_list_t *sul)
{
    while (started < nconns && inflight < 256)
        connect_one(&conns[started++]);
    if (started < nconns)
        lws_sul_schedule(ctx, 0, &sul_connect, connect_more, 5 * LWS_US_PER_MS);
}

/* The notification id of a message (jsonb text: `"id": 123`), or 0. */
static int64_t msg_id(const char *s, size_t len)
{
    const char *t = memmem(s, len, "\"id\":", 5);
    if (!t)
        return 0;
    t += 5;
    while (t < s + len && *t == ' ')
        t++;
    int64_t v = 0;
    while (t < s + len && *t >= '0' && *t <= '9')
        v = v * 10 + (*t++ - '0');
    return v;
}

static void on_message(const char *s, size_t len)
{
    int64_t id = msg_id(s, len), now = now_us();
    int64_t k = id - id_base;
    if (id <= 0 || !t_pub || k < 0 || k >= id_cap) {
        unknown_ids++;
        return;
    }
    int64_t sent = __atomic_load_n(&t_pub[k], __ATOMIC_ACQUIRE);
    if (!sent) {
        unknown_ids++;
        return;
    }
    seen[k]++;
    if (nlat == cap_lat) {
        cap_lat = cap_lat ? cap_lat * 2 : 65536;
        lat_us = rg_realloc(lat_us, cap_lat * sizeof *lat_us);
        lat_sec = rg_realloc(lat_sec, cap_lat * sizeof *lat_sec);
    }
    lat_sec[nlat] = (uint16_t)((sent - first_pub_us) / 1000000);
    lat_us[nlat++] = now - sent;
    last_recv_us = now;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c && !c->closed) {
            if (nclosed < 10)
                fprintf(stderr, "connection %d failed: %s\n", c->idx, in ? (char *)in : "?");
            c->closed = 1;
            nclosed++;
            inflight--;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!c->ready) {
            if (memmem(in, len, "\"type\":\"ready\"", 14)) {
                c->ready = 1;
                nready++;
                inflight--;
            }
            return 0;
        }
        on_message(in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c && !c->closed) {
            c->closed = 1;
            nclosed++;
            if (!c->ready)
                inflight--;
            else
                nlost++;
        }
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"resumego.v1", callback, 0, 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

struct pub {
    const char *pg_url, *amqp_url;
    int rate, seconds;
    int *per_user; /* ready sockets per token line */
    uint64_t sent, expected, unrouted, late_ticks;
    int64_t elapsed_us;
    const char *err;
};

/* The rows flow_notify() (deploy/migrations/0005-notify-seq.sql) writes for a render that
 * started, for each user of $1: the user's next seqs, the notification and its outbox
 * message, one statement (a user may appear more than once in $1). */
static const char insert_sql[] =
    "WITH done AS (UPDATE outbox SET published_at = now() WHERE id = ANY($2::bigint[])),"
    "     c AS (SELECT u, count(*) AS k FROM unnest($1::bigint[]) AS u GROUP BY u),"
    "     s AS (UPDATE users x SET notify_seq = x.notify_seq + c.k FROM c WHERE x.id = c.u"
    "           RETURNING x.id AS u, x.notify_seq - c.k AS base),"
    "     m AS (SELECT nextval(pg_get_serial_sequence('notifications', 'id')) AS n, t.u,"
    "                  s.base + row_number() OVER (PARTITION BY t.u ORDER BY t.o) AS seq,"
    "                  gen_random_uuid() AS run_id, gen_random_uuid() AS resume_id"
    "             FROM unnest($1::bigint[]) WITH ORDINALITY AS t(u, o) JOIN s ON s.u = t.u"
    "            ORDER BY t.o),"
    "     p AS (SELECT n, u, seq, run_id, jsonb_build_object('id', n, 'seq', seq,"
    "                  'type', 'render.progress',"
    "                  'run_id', run_id, 'resume_id', resume_id, 'state', 'running',"
    "                  'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')) AS msg"
    "             FROM m),"
    "     ins AS (INSERT INTO notifications (id, user_id, seq, kind, payload)"
    "             SELECT n, u, seq, 'render.progress', msg FROM p)"
    " INSERT INTO outbox (exchange, routing_key, message_id, payload, run_id)"
    " SELECT 'rg.notify', 'user.' || u, 'notify:' || n, msg::text, run_id FROM p"
    " RETURNING id, routing_key, message_id, payload";

static void *publisher(void *arg)
{
    struct pub *p = arg;
    static char err[512];
    struct rg_amqp *a = NULL;
    struct rg_errinfo ei = {0};
    int per_tick = p->rate / 100 > 0 ? p->rate / 100 : 1;
    struct rg_amqp_msg *msgs = rg_calloc((size_t)per_tick, sizeof *msgs);
    int *status = rg_calloc((size_t)per_tick, sizeof *status);
    int *tok_of = rg_calloc((size_t)per_tick, sizeof *tok_of);
    int64_t user = 0;
    struct rg_buf users, ids;
    PGconn *pg = PQconnectdb(p->pg_url);

    rg_buf_init(&users, 1 << 20);
    rg_buf_init(&ids, 1 << 20);
    if (PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, sizeof err, "PostgreSQL: %s", PQerrorMessage(pg));
        goto out;
    }
    if (rg_amqp_connect(p->amqp_url, 0, 5000, &a, &ei) < 0 || rg_amqp_confirm_select(a, &ei) < 0) {
        snprintf(err, sizeof err, "RabbitMQ: %s", ei.msg);
        goto out;
    }
    PQclear(PQexec(pg, "SET synchronous_commit = off"));
    PGresult *r0 = PQexec(pg, "SELECT nextval(pg_get_serial_sequence('notifications', 'id'))");
    if (PQresultStatus(r0) != PGRES_TUPLES_OK) {
        snprintf(err, sizeof err, "PostgreSQL: %s", PQerrorMessage(pg));
        PQclear(r0);
        goto out;
    }
    id_base = strtoll(PQgetvalue(r0, 0, 0), NULL, 10) + 1;
    PQclear(r0);

    int64_t t0 = now_us();
    int64_t ticks = (int64_t)p->seconds * 100;
    for (int64_t k = 0; k < ticks && !stop_all; k++) {
        rg_buf_reset(&users);
        (void)rg_buf_putc(&users, '{');
        for (int i = 0; i < per_tick; i++) {
            tok_of[i] = (int)(user++ % ntok);
            (void)rg_buf_printf(&users, "%s%" PRId64, i ? "," : "", uids[tok_of[i]]);
        }
        (void)rg_buf_putc(&users, '}');
        const char *prm[] = {users.ptr, ids.len ? ids.ptr : "{}"};
        PGresult *res = PQexecParams(pg, insert_sql, 2, NULL, prm, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != per_tick) {
            snprintf(err, sizeof err, "insert: %s", PQerrorMessage(pg));
            PQclear(res);
            goto out;
        }
        for (int i = 0; i < per_tick; i++)
            msgs[i] = (struct rg_amqp_msg){RG_AMQP_EX_NOTIFY, PQgetvalue(res, i, 1),
                                           PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                                           (size_t)PQgetlength(res, i, 3), 1, 0};
        int64_t ts = now_us();
        if (!first_pub_us)
            first_pub_us = ts;
        for (int i = 0; i < per_tick; i++) {
            int64_t nid = strtoll(msgs[i].message_id + 7, NULL, 10), x = nid - id_base;
            if (x < 0 || x >= id_cap) {
                snprintf(err, sizeof err, "notification id %" PRId64 " outside %" PRId64 "..+%" PRId64
                         " (another writer?)", nid, id_base, id_cap);
                PQclear(res);
                goto out;
            }
            /* Expected deliveries: every ready socket of the user the routing key names. */
            int64_t uid = strtoll(msgs[i].routing_key + 5, NULL, 10);
            for (int j = 0; j < per_tick; j++)
                if (uids[tok_of[j]] == uid)
                    want[x] = (uint16_t)p->per_user[tok_of[j]];
            p->expected += want[x];
            __atomic_store_n(&t_pub[x], ts, __ATOMIC_RELEASE);
        }
        if (rg_amqp_publish(a, msgs, (size_t)per_tick, status, 5000, &ei) < 0) {
            snprintf(err, sizeof err, "publish: %s", ei.msg);
            PQclear(res);
            goto out;
        }
        rg_buf_reset(&ids);
        (void)rg_buf_putc(&ids, '{');
        for (int i = 0; i < per_tick; i++) {
            (void)rg_buf_printf(&ids, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
            if (status[i] == -ENOENT)
                p->unrouted++;
        }
        (void)rg_buf_putc(&ids, '}');
        p->sent += (uint64_t)per_tick;
        PQclear(res);
        /* next tick at t0 + (k+1) * 10 ms; a late tick goes at once */
        int64_t due = t0 + (k + 1) * 10000, left = due - now_us();
        if (left > 0) {
            struct timespec d = {left / 1000000, (long)(left % 1000000) * 1000};
            nanosleep(&d, NULL);
        } else {
            p->late_ticks++;
        }
    }
    p->elapsed_us = now_us() - t0;
out:
    p->err = err[0] ? err : NULL;
    rg_amqp_free(a);
    PQfinish(pg);
    rg_buf_done(&users);
    rg_buf_done(&ids);
    rg_free(msgs);
    rg_free(status);
    rg_free(tok_of);
    __atomic_store_n(&publishing, 0, __ATOMIC_RELEASE);
    lws_cancel_service(ctx);
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void service(void)
{
    ev_run(loop, EVRUN_ONCE);
}

static void service_for(int64_t us)
{
    int64_t end = now_us() + us;
    while (now_us() < end && !stop_all)
        service();
}

/* The loop returns at least this often. */
static void tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l, (void)w, (void)revents;
}

static int positive(const char *s, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > 1000000) {
        fprintf(stderr, "bench-notify: %s must be an integer 0..1000000, not \"%s\"\n", what, s);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: bench-notify PORT PG_URL AMQP_URL TOKENS_FILE HUB_PID CONNS RATE SECONDS\n");
        return 2;
    }
    port = positive(argv[1], "PORT");
    int hub_pid = positive(argv[5], "HUB_PID");
    nconns = positive(argv[6], "CONNS");
    int rate = positive(argv[7], "RATE"), seconds = positive(argv[8], "SECONDS");
    if (rate % 100 && rate > 100) {
        fprintf(stderr, "bench-notify: RATE must be a multiple of 100 (one batch per 10 ms)\n");
        return 2;
    }
    if (rss_kb(hub_pid) < 0) {
        fprintf(stderr, "bench-notify: no process %d to measure\n", hub_pid);
        return 2;
    }

    FILE *f = fopen(argv[4], "r");
    if (!f) {
        perror(argv[4]);
        return 1;
    }
    char line[256];
    int capt = 0;
    while (fgets(line, sizeof line, f)) {
        char tok[128];
        long long uid;
        if (sscanf(line, "%lld %127s", &uid, tok) != 2)
            continue;
        if (ntok == capt) {
            capt = capt ? capt * 2 : 1024;
            tokens = rg_realloc(tokens, (size_t)capt * sizeof *tokens);
            uids = rg_realloc(uids, (size_t)capt * sizeof *uids);
        }
        tokens[ntok] = rg_strdup(tok);
        uids[ntok++] = uid;
    }
    fclose(f);
    if (!ntok) {
        fprintf(stderr, "bench-notify: no \"<user id> <token>\" lines in %s\n", argv[4]);
        return 1;
    }

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nconns + 256) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)nconns + 256) {
            fprintf(stderr, "bench-notify: open-file limit %llu is too low for %d sockets\n",
                    (unsigned long long)rl.rlim_cur, nconns);
            return 1;
        }
    }
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    loop = ev_loop_new(EVFLAG_AUTO);
    void *loops[] = {loop};
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBEV;
    info.foreign_loops = loops;
    /* No fd_limit_per_thread: below the open-file limit it makes lws find sockets by a
     * linear search (wsi_from_fd) instead of indexing by fd. */
    info.timeout_secs = 30;
    ctx = lws_create_context(&info);
    if (!ctx)
        return 1;
    conns = rg_calloc((size_t)nconns, sizeof *conns);
    for (int i = 0; i < nconns; i++)
        conns[i].idx = i;
    ev_timer tick;
    ev_timer_init(&tick, tick_cb, 0.05, 0.05);
    ev_timer_start(loop, &tick);

    long rss0 = rss_kb(hub_pid);
    int64_t t0 = now_us();
    connect_more(NULL);
    while (nready + nclosed < nconns && now_us() - t0 < 120 * 1000000LL)
        service();
    double took = (double)(now_us() - t0) / 1e6;
    service_for(3 * 1000000LL);
    long rss1 = rss_kb(hub_pid);
    printf("idle: %d of %d connections ready (%d failed) in %.2f s; hub RSS %.1f MiB -> %.1f MiB: "
           "+%.1f MiB (%.1f MB), %.2f KiB per connection\n",
           nready, nconns, nclosed, took, rss0 / 1024.0, rss1 / 1024.0, (rss1 - rss0) / 1024.0,
           (rss1 - rss0) * 1024.0 / 1e6, nready ? (double)(rss1 - rss0) / nready : 0.0);
    fflush(stdout);
    int rc = nready == nconns ? 0 : 1;

    if (rate > 0 && seconds > 0 && nready > 0) {
        struct pub p = {argv[2], argv[3], rate, seconds, rg_calloc((size_t)ntok, sizeof(int)),
                        0, 0, 0, 0, 0, NULL};
        for (int i = 0; i < nconns; i++)
            if (conns[i].ready && !conns[i].closed)
                p.per_user[i % ntok]++;
        int per_tick = rate / 100 > 0 ? rate / 100 : 1;
        id_cap = (int64_t)per_tick * seconds * 100 + 1;
        t_pub = rg_calloc((size_t)id_cap, sizeof *t_pub);
        seen = rg_calloc((size_t)id_cap, sizeof *seen);
        want = rg_calloc((size_t)id_cap, sizeof *want);
        long long c0 = cpu_ticks(hub_pid);
        int64_t w0 = now_us();
        struct rusage ru0;
        getrusage(RUSAGE_THREAD, &ru0);
        pthread_t th;
        publishing = 1;
        pthread_create(&th, NULL, publisher, &p);
        while (__atomic_load_n(&publishing, __ATOMIC_ACQUIRE))
            service();
        long long c1 = cpu_ticks(hub_pid);
        int64_t w1 = now_us();
        pthread_join(th, NULL);
        /* The last deliveries: until every expected one is in, at most 10 s. */
        int64_t until = now_us() + 10 * 1000000LL;
        while (nlat < p.expected && now_us() < until)
            service();
        struct rusage ru1;
        getrusage(RUSAGE_THREAD, &ru1);
        if (p.err) {
            fprintf(stderr, "bench-notify: publisher: %s\n", p.err);
            rc = 1;
        }
        uint64_t missing = 0, dup = 0, msgs_short = 0;
        for (int64_t k = 0; k < id_cap; k++) {
            if (!t_pub[k])
                continue;
            if (seen[k] < want[k]) {
                missing += (uint64_t)(want[k] - seen[k]);
                msgs_short++;
            } else if (seen[k] > want[k]) {
                dup += (uint64_t)(seen[k] - want[k]);
            }
        }
        /* p99 of each second of publishing: a stall shows as one bad second. */
        struct rg_buf per_sec;
        rg_buf_init(&per_sec, 1 << 16);
        int64_t *tmp = rg_malloc((nlat ? nlat : 1) * sizeof *tmp);
        for (int sec = 0; sec <= seconds; sec++) {
            size_t m = 0;
            for (size_t i = 0; i < nlat; i++)
                if (lat_sec[i] == sec)
                    tmp[m++] = lat_us[i];
            if (!m)
                continue;
            qsort(tmp, m, sizeof *tmp, cmp64);
            (void)rg_buf_printf(&per_sec, " %.1f", tmp[(size_t)((double)(m - 1) * 0.99)] / 1000.0);
        }
        rg_free(tmp);
        qsort(lat_us, nlat, sizeof *lat_us, cmp64);
#define PCT(q) (nlat ? lat_us[(size_t)((double)(nlat - 1) * (q))] / 1000.0 : 0.0)
        double span = first_pub_us && last_recv_us > first_pub_us
                          ? (double)(last_recv_us - first_pub_us) / 1e6 : 0;
        long hz = sysconf(_SC_CLK_TCK);
        double cpu = c0 >= 0 && c1 >= 0 ? (double)(c1 - c0) / (double)hz / ((double)(w1 - w0) / 1e6)
                                         : -1;
        printf("fanout: %d msg/s for %d s, each to one of %d users (round robin) and so to every "
               "socket of that user, %d sockets in all\n",
               rate, seconds, ntok, nready - nlost);
        printf("  published %" PRIu64 " (%.0f msg/s achieved, %" PRIu64 " late 10 ms ticks, %" PRIu64
               " unroutable); deliveries %zu of %" PRIu64 " expected (%.0f/s): %" PRIu64
               " missing in %" PRIu64 " messages, %" PRIu64 " duplicates, %" PRIu64
               " unknown; sockets lost %d\n",
               p.sent, p.elapsed_us ? (double)p.sent * 1e6 / (double)p.elapsed_us : 0.0, p.late_ticks,
               p.unrouted, nlat, p.expected, span > 0 ? (double)nlat / span : 0.0, missing, msgs_short,
               dup, unknown_ids, nlost);
        printf("  broker-to-socket latency: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, "
               "max %.2f ms\n",
               PCT(0.50), PCT(0.90), PCT(0.99), PCT(0.999), PCT(1.0));
        printf("  p99 of each second of publishing (ms):%s\n", per_sec.ptr);
        rg_buf_done(&per_sec);
#define TV(t) ((double)(t).tv_sec + (double)(t).tv_usec / 1e6)
        double rcpu = TV(ru1.ru_utime) + TV(ru1.ru_stime) - TV(ru0.ru_utime) - TV(ru0.ru_stime);
#undef TV
        printf("  while publishing: hub %.0f %% of one core (RSS %.1f MiB); this client's receiving "
               "thread %.0f %%; load average %.2f\n",
               cpu * 100, rss_kb(hub_pid) / 1024.0, rcpu * 1e6 / (double)(now_us() - w0) * 100,
               loadavg());
#undef PCT
        if (missing || dup || nlost || p.err)
            rc = 1;
        rg_free(p.per_user);
    }
    stop_all = 1;
    ev_timer_stop(loop, &tick);
    lws_context_destroy(ctx);
    ev_loop_destroy(loop);
    return rc;
}
