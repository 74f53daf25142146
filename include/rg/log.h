/* JSON-lines logging to stderr.
 *
 * Each call writes one object on one line with a single write(2) (or, with
 * rg_log_buffer(), several whole lines with one), so lines from several threads never
 * interleave.  Leading keys are fixed: ts, level, svc, pid, event; the
 * key/value pairs given follow.  The level is tested before any argument is built.
 *
 *   RG_LOG(RG_LOG_WARN, RG_EVENT("render.font_missing"), RG_KV_STR("family", fam));
 */
#ifndef RG_LOG_H
#define RG_LOG_H

#include <stddef.h>
#include <stdint.h>

enum rg_log_level { RG_LOG_DEBUG = 0, RG_LOG_INFO, RG_LOG_WARN, RG_LOG_ERROR, RG_LOG_OFF };

enum rg_kv_type { RG_KV_T_STR, RG_KV_T_I64, RG_KV_T_F64, RG_KV_T_BOOL, RG_KV_T_ERR, RG_KV_T_EVENT };

struct rg_kv {
    const char *key;
    enum rg_kv_type type;
    union {
        const char *s;
        int64_t i;
        double f;
    } v;
};

#define RG_EVENT(e) ((struct rg_kv){"event", RG_KV_T_EVENT, {.s = (e)}})
#define RG_KV_STR(k, x) ((struct rg_kv){(k), RG_KV_T_STR, {.s = (x)}})
#define RG_KV_I64(k, x) ((struct rg_kv){(k), RG_KV_T_I64, {.i = (int64_t)(x)}})
#define RG_KV_F64(k, x) ((struct rg_kv){(k), RG_KV_T_F64, {.f = (double)(x)}})
#define RG_KV_BOOL(k, x) ((struct rg_kv){(k), RG_KV_T_BOOL, {.i = !!(x)}})
#define RG_KV_ERR(x) ((struct rg_kv){"err", RG_KV_T_ERR, {.i = (x)}})

extern enum rg_log_level rg_log_min;

#define RG_LOG(lvl, ...)                                                                           \
    do {                                                                                           \
        if ((lvl) >= rg_log_min) {                                                                 \
            const struct rg_kv rg__kv[] = {__VA_ARGS__};                                           \
            rg_log_emit((lvl), rg__kv, sizeof rg__kv / sizeof *rg__kv);                            \
        }                                                                                          \
    } while (0)

/* Sets the service name printed in "svc" (a static string) and the minimum level.
 * Reads RG_LOG_LEVEL (debug|info|warn|error|off) when level_env is non-zero. */
void rg_log_setup(const char *svc, enum rg_log_level min, int level_env);
/* Parses "debug", "info", "warn", "error", "off"; -EINVAL otherwise. */
int rg_log_level_parse(const char *s, enum rg_log_level *ret_level);
void rg_log_emit(enum rg_log_level lvl, const struct rg_kv *kv, size_t n);
/* Gathers debug and info lines and writes them together, at least every interval_ms (a
 * flusher thread), when 64 KiB are waiting, before any warning or error, and at exit:
 * one write(2) per line was a fifth of rg-core's cost of a cached GET.  A crash can lose
 * the last interval's info lines, never a warning or an error.  Not for a process that
 * forks after calling it.  Returns 0 or a negative errno. */
int rg_log_buffer(long interval_ms);
/* Writes what rg_log_buffer() gathered. */
void rg_log_flush(void);
/* Async-signal-safe: writes a fixed line with the event name only. */
void rg_log_from_handler(enum rg_log_level lvl, const char *event);

#endif
