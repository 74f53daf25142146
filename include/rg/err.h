/* Error codes shared by every part of ResumeGo.
 *
 * A function that can fail returns an int: >= 0 on success, negative on failure.  The
 * negative value is either -errno or one of the RG_E* codes below; rg_strerror() names
 * both.  Detail text, where a caller needs it, travels in a struct rg_errinfo. */
#ifndef RG_ERR_H
#define RG_ERR_H

#include <stddef.h>

#define RG_ERR_MAP(X)                                                                              \
    X(EPG, -4001, "postgres error")                                                                \
    X(EREDIS, -4002, "redis error")                                                                \
    X(EAMQP, -4003, "amqp error")                                                                  \
    X(ECONFIG, -4004, "invalid configuration")                                                     \
    X(ETOOBIG, -4005, "size limit exceeded")                                                       \
    X(EJSON, -4006, "invalid JSON")                                                                \
    X(EUTF8, -4007, "invalid UTF-8")                                                               \
    X(EINPUT, -4008, "input rejected")                                                             \
    X(ETHEME, -4009, "unknown or invalid theme")                                                   \
    X(ERENDER, -4010, "rendering failed")                                                          \
    X(EIMAGE, -4011, "unsupported or broken image")

enum rg_err {
#define X(name, val, msg) RG_##name = (val),
    RG_ERR_MAP(X)
#undef X
};

/* Free-form detail for the last failure: a message and, where it applies, the position
 * in the input (1-based line and column, 0-based byte offset; -1 when unknown). */
struct rg_errinfo {
    char msg[256];
    long line, column, offset;
};

/* Name of an error code (RG_E* or -errno).  Returns a static string; never NULL. */
const char *rg_strerror(int err);

/* Fills *ei (if not NULL) with a printf-style message; position fields are reset to -1.
 * Returns err so that callers can write `return rg_errinfo_set(ei, RG_EJSON, ...)`. */
int rg_errinfo_set(struct rg_errinfo *ei, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
