/* Growable byte buffers with a mandatory cap (curl's dynbuf).
 *
 * The contents are always NUL-terminated so they can be used as C strings.  When an
 * append would pass the cap, the buffer is emptied and RG_ETOOBIG returned: a half-built
 * result is never mistaken for a whole one. */
#ifndef RG_BUF_H
#define RG_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct rg_buf {
    char *ptr;
    size_t len, cap, max;
};

/* Borrowed view of bytes; passed by value. */
struct rg_str {
    const char *ptr;
    size_t len;
};
#define RG_STR_LIT(s) ((struct rg_str){(s), sizeof(s) - 1})

/* Cannot fail.  max is the largest len the buffer may reach. */
void rg_buf_init(struct rg_buf *b, size_t max);
/* 0 or RG_ETOOBIG (and then b is emptied). */
int rg_buf_append(struct rg_buf *b, const void *p, size_t n);
int rg_buf_puts(struct rg_buf *b, const char *s);
int rg_buf_putc(struct rg_buf *b, char c);
int rg_buf_printf(struct rg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rg_buf_vprintf(struct rg_buf *b, const char *fmt, va_list ap);
/* Drops the contents but keeps the storage. */
void rg_buf_reset(struct rg_buf *b);
/* Hands the contents to the caller (never NULL: an empty buffer yields ""), b is reset. */
char *rg_buf_take(struct rg_buf *b, size_t *ret_len);
/* Frees the contents; b may be reused after rg_buf_init. */
void rg_buf_done(struct rg_buf *b);

/* Reads a whole file (or stdin when path is "-") into b, failing with RG_ETOOBIG past
 * b->max.  Returns 0 or a negative error (-errno for I/O). */
int rg_buf_read_file(struct rg_buf *b, const char *path);

#endif
