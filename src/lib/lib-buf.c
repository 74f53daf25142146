/* Capped buffers (see rg/buf.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rg/buf.h"
#include "rg/err.h"
#include "rg/mem.h"

void rg_buf_init(struct rg_buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

static int grow(struct rg_buf *b, size_t need)
{
    if (need > b->max || need < b->len) {
        rg_buf_done(b);
        return RG_ETOOBIG;
    }
    if (need + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need + 1)
        cap = cap * 2 > cap ? cap * 2 : need + 1;
    b->ptr = rg_realloc(b->ptr, cap);
    b->cap = cap;
    return 0;
}

int rg_buf_append(struct rg_buf *b, const void *p, size_t n)
{
    int r = grow(b, b->len + n);
    if (r < 0)
        return r;
    if (n)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return 0;
}

int rg_buf_puts(struct rg_buf *b, const char *s)
{
    return rg_buf_append(b, s, strlen(s));
}

int rg_buf_putc(struct rg_buf *b, char c)
{
    return rg_buf_append(b, &c, 1);
}

int rg_buf_vprintf(struct rg_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -EINVAL;
    int r = grow(b, b->len + (size_t)n);
    if (r < 0)
        return r;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int rg_buf_printf(struct rg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = rg_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

void rg_buf_reset(struct rg_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

char *rg_buf_take(struct rg_buf *b, size_t *ret_len)
{
    char *p = b->ptr ? b->ptr : rg_strdup("");
    if (ret_len)
        *ret_len = b->len;
    b->ptr = NULL;
    b->len = b->cap = 0;
    return p;
}

void rg_buf_done(struct rg_buf *b)
{
    b->ptr = rg_free(b->ptr);
    b->len = b->cap = 0;
}

int rg_buf_read_file(struct rg_buf *b, const char *path)
{
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    char chunk[65536];
    int r = 0;

    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        if (n == 0)
            break;
        r = rg_buf_append(b, chunk, (size_t)n);
        if (r < 0)
            break;
    }
    if (fd > 0)
        close(fd);
    if (r == 0 && !b->ptr)
        r = rg_buf_append(b, "", 0);
    return r;
}
