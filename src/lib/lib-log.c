/* JSON-lines logger (see rg/log.h).  Each line is built in a fixed 4 KiB buffer on the
 * stack and written with one write(2); values that do not fit are cut and the line is
 * marked "truncated":true.  With rg_log_buffer(), debug and info lines are gathered and
 * written together (see there). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "rg/err.h"
#include "rg/log.h"

enum rg_log_level rg_log_min = RG_LOG_INFO;
static const char *log_svc = "resumego";

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

/* The gathered lines (rg_log_buffer): written when LOG_BUF_MAX would overflow, when a
 * warning or error is logged (after them, so the order holds), by the flusher every
 * interval, and by rg_log_flush. */
#define LOG_BUF_MAX (64 * 1024)
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[LOG_BUF_MAX];
static size_t log_len;
static int log_buffered;
static long log_interval_ms;

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(2, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

/* Called with log_mu held. */
static void drain(void)
{
    if (log_len) {
        write_all(log_buf, log_len);
        log_len = 0;
    }
}

void rg_log_flush(void)
{
    if (!__atomic_load_n(&log_buffered, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&log_mu);
    drain();
    pthread_mutex_unlock(&log_mu);
}

static void *flusher(void *arg)
{
    struct timespec ts = {log_interval_ms / 1000, (log_interval_ms % 1000) * 1000000L};
    (void)arg;
    for (;;) {
        nanosleep(&ts, NULL);
        rg_log_flush();
    }
    return NULL;
}

int rg_log_buffer(long interval_ms)
{
    pthread_t t;
    pthread_attr_t a;
    int r;

    if (log_buffered || interval_ms < 1)
        return 0;
    log_interval_ms = interval_ms;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    r = pthread_create(&t, &a, flusher, NULL);
    pthread_attr_destroy(&a);
    if (r != 0)
        return -r;
    __atomic_store_n(&log_buffered, 1, __ATOMIC_RELEASE);
    atexit(rg_log_flush);
    return 0;
}

static void emit_line(enum rg_log_level lvl, const char *line, size_t n)
{
    if (!__atomic_load_n(&log_buffered, __ATOMIC_ACQUIRE)) {
        write_all(line, n);
        return;
    }
    pthread_mutex_lock(&log_mu);
    if (lvl >= RG_LOG_WARN || log_len + n > LOG_BUF_MAX) {
        drain();
        if (lvl >= RG_LOG_WARN || n > LOG_BUF_MAX)
            write_all(line, n);
        else
            memcpy(log_buf, line, n), log_len = n;
    } else {
        memcpy(log_buf + log_len, line, n);
        log_len += n;
    }
    pthread_mutex_unlock(&log_mu);
}

int rg_log_level_parse(const char *s, enum rg_log_level *ret_level)
{
    for (int i = 0; i <= RG_LOG_OFF; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *ret_level = (enum rg_log_level)i;
            return 0;
        }
    return -EINVAL;
}

/* The start of a line up to the seconds, remade once a second per thread: gmtime_r takes
 * glibc's time-zone lock, which every worker thread of rg-core would otherwise queue on once
 * per request (with strftime and getpid(2), a fifth of a cached GET's instructions). */
static __thread time_t ts_sec = -1;
static __thread char ts_head[40];
static __thread size_t ts_len;
static __thread pid_t ts_pid;

/* A forked child (rg-pdf's render processes) must not log its parent's pid. */
static void ts_forget(void)
{
    ts_sec = -1;
}

static void ts_register(void)
{
    (void)pthread_atfork(NULL, NULL, ts_forget);
}

void rg_log_setup(const char *svc, enum rg_log_level min, int level_env)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ts_register);
    log_svc = svc;
    rg_log_min = min;
    const char *e = level_env ? getenv("RG_LOG_LEVEL") : NULL;
    if (e)
        (void)rg_log_level_parse(e, &rg_log_min);
}

struct line {
    char buf[4096];
    size_t len;
    int truncated;
};

/* Reserve room for the closing `,"truncated":true}\n`. */
#define LINE_ROOM (sizeof(((struct line *)0)->buf) - 24)

static void put(struct line *l, const char *s, size_t n)
{
    if (l->len + n > LINE_ROOM) {
        n = LINE_ROOM - l->len;
        l->truncated = 1;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

static void put_escaped(struct line *l, const char *s)
{
    put(l, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(l, esc, 2);
        } else if (*p < 0x20) {
            int n = snprintf(esc, sizeof esc, "\\u%04x", *p);
            put(l, esc, (size_t)n);
        } else {
            put(l, (const char *)p, 1);
        }
        if (l->truncated)
            break;
    }
    put(l, "\"", 1);
}

void rg_log_emit(enum rg_log_level lvl, const struct rg_kv *kv, size_t n)
{
    struct line l = {.len = 0, .truncated = 0};
    struct timeval tv;
    char tmp[64];

    gettimeofday(&tv, NULL);
    if (tv.tv_sec != ts_sec) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        ts_len = strftime(ts_head, sizeof ts_head, "{\"ts\":\"%Y-%m-%dT%H:%M:%S.", &tm);
        ts_sec = tv.tv_sec;
        ts_pid = getpid();
    }
    put(&l, ts_head, ts_len);
    long ms = (long)(tv.tv_usec / 1000);
    char msd[3] = {(char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10)};
    put(&l, msd, 3);
    puts_(&l, "Z\",\"level\":\"");
    puts_(&l, level_names[lvl < RG_LOG_OFF ? lvl : RG_LOG_ERROR]);
    puts_(&l, "\",\"svc\":");
    put_escaped(&l, log_svc);
    snprintf(tmp, sizeof tmp, ",\"pid\":%ld", (long)ts_pid);
    puts_(&l, tmp);
    for (size_t i = 0; i < n; i++) {
        put(&l, ",", 1);
        put_escaped(&l, kv[i].key);
        put(&l, ":", 1);
        switch (kv[i].type) {
        case RG_KV_T_EVENT:
        case RG_KV_T_STR:
            put_escaped(&l, kv[i].v.s);
            break;
        case RG_KV_T_I64:
            snprintf(tmp, sizeof tmp, "%" PRId64, kv[i].v.i);
            puts_(&l, tmp);
            break;
        case RG_KV_T_F64:
            snprintf(tmp, sizeof tmp, "%.6g", kv[i].v.f);
            puts_(&l, tmp);
            break;
        case RG_KV_T_BOOL:
            puts_(&l, kv[i].v.i ? "true" : "false");
            break;
        case RG_KV_T_ERR:
            put_escaped(&l, rg_strerror((int)kv[i].v.i));
            snprintf(tmp, sizeof tmp, ",\"code\":%" PRId64, kv[i].v.i);
            puts_(&l, tmp);
            break;
        }
    }
    if (l.truncated) {
        memcpy(l.buf + l.len, ",\"truncated\":true", 17);
        l.len += 17;
    }
    l.buf[l.len++] = '}';
    l.buf[l.len++] = '\n';
    emit_line(lvl, l.buf, l.len);
}

void rg_log_from_handler(enum rg_log_level lvl, const char *event)
{
    char line[256];
    size_t n = 0;
    const char *parts[] = {"{\"level\":\"", level_names[lvl < RG_LOG_OFF ? lvl : RG_LOG_ERROR],
                           "\",\"event\":\"", event, "\"}\n"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        size_t k = strlen(parts[i]);
        if (n + k >= sizeof line)
            break;
        memcpy(line + n, parts[i], k);
        n += k;
    }
    (void)!write(2, line, n);
}
