/* Diagnostics list (see rg/render.h). */
#include <stdarg.h>
#include <stdio.h>

#include "rg/mem.h"
#include "rg/render.h"

void rg_diags_add(struct rg_diags *d, enum rg_diag_level level, const char *pointer,
                  const char *fmt, ...)
{
    va_list ap;
    char msg[1024];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->v = rg_realloc(d->v, d->cap * sizeof *d->v);
    }
    d->v[d->n].level = level;
    d->v[d->n].pointer = rg_strdup(pointer ? pointer : "");
    d->v[d->n].message = rg_strdup(msg);
    d->n++;
}

size_t rg_diags_count(const struct rg_diags *d, enum rg_diag_level level)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        n += d->v[i].level == level;
    return n;
}

void rg_diags_done(struct rg_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        rg_free(d->v[i].pointer);
        rg_free(d->v[i].message);
    }
    d->v = rg_free(d->v);
    d->n = d->cap = 0;
}
