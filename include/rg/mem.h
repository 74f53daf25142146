/* Allocation wrappers: they never return NULL.  On exhaustion they write one line to
 * stderr and abort, so -ENOMEM never travels up the call chain (as Redis' zmalloc).
 * Raw malloc/free are banned by scripts/checksrc.sh outside this module. */
#ifndef RG_MEM_H
#define RG_MEM_H

#include <stddef.h>

void *rg_malloc(size_t n);
void *rg_calloc(size_t nmemb, size_t size);
void *rg_realloc(void *p, size_t n);
char *rg_strdup(const char *s);
char *rg_strndup(const char *s, size_t n);
/* NULL-safe; always returns NULL so callers can write `p = rg_free(p);`. */
void *rg_free(void *p);
/* Overwrites n bytes in a way the compiler may not elide (secrets before free). */
void rg_memzero(void *p, size_t n);
/* printf into a new string owned by the caller. */
char *rg_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define RG_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            rg__assert_fail(#cond, __FILE__, __LINE__);                                            \
    } while (0)
void rg__assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

#define RG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
