#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rg/err.h"

const char *rg_strerror(int err)
{
    switch (err) {
#define X(name, val, msg)                                                                          \
    case val:                                                                                      \
        return msg;
        RG_ERR_MAP(X)
#undef X
    default:
        break;
    }
    if (err < 0 && err > -4000)
        return strerror(-err);
    return err >= 0 ? "success" : "unknown error";
}

int rg_errinfo_set(struct rg_errinfo *ei, int err, const char *fmt, ...)
{
    if (ei) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ei->msg, sizeof ei->msg, fmt, ap);
        va_end(ap);
        ei->line = ei->column = ei->offset = -1;
    }
    return err;
}
