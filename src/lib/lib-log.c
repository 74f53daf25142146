/* JSON-lines logger (see rg/log.h).  Each line is built in a fixed 4 KiB buffer on the
 * stack and written with one write(2); values that do not fit are cut and the line is
 * marked "truncated":true. */
#include <errno.h>
#include <inttypes.h>
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

int rg_log_level_parse(const char *s, enum rg_log_level *ret_level)
{
    for (int i = 0; i <= RG_LOG_OFF; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *ret_level = (enum rg_log_level)i;
            return 0;
        }
    return -EINVAL;
}

void rg_log_setup(const char *svc, enum rg_log_level min, int level_env)
{
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
    struct tm tm;
    char tmp[64];

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t tl = strftime(tmp, sizeof tmp, "{\"ts\":\"%Y-%m-%dT%H:%M:%S", &tm);
    put(&l, tmp, tl);
    snprintf(tmp, sizeof tmp, ".%03ldZ\",\"level\":\"%s\",\"svc\":", (long)(tv.tv_usec / 1000),
             level_names[lvl < RG_LOG_OFF ? lvl : RG_LOG_ERROR]);
    puts_(&l, tmp);
    put_escaped(&l, log_svc);
    snprintf(tmp, sizeof tmp, ",\"pid\":%ld", (long)getpid());
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
    (void)!write(2, l.buf, l.len);
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
