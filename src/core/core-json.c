/* A validating JSON scanner that builds nothing: it checks a text against RFC 8259 and
 * reports where the values of chosen top-level members lie.
 *
 * Why: a resume write carries {"title", "data"}; parsing the whole body into a jansson
 * tree, writing `data` back out for rg_resume_load (which takes bytes) and parsing it
 * again cost a third of a save.  With the spans, `data` goes to the loader straight from
 * the request body.  Anything unusual (an escaped member name, a document nested deeper
 * than SCAN_MAX_DEPTH) makes the scanner decline, and the caller takes the slow path,
 * which also produces the precise error message for invalid input. */
#include <string.h>

#include "core.h"
#include "rg/json.h"
#include "rg/mem.h"

#define SCAN_MAX_DEPTH 1000

struct scan {
    const char *p, *end;
    int depth;
};

static void ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(const char *p, unsigned *ret)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *ret = v;
    return 0;
}

/* A string at s->p (the opening quote).  *ret_escaped tells whether it held escapes. */
static int string(struct scan *s, int *ret_escaped)
{
    int escaped = 0;
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            s->p++;
            if (ret_escaped)
                *ret_escaped = escaped;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c != '\\') {
            s->p++;
            continue;
        }
        escaped = 1;
        if (s->end - s->p < 2)
            return -1;
        char e = s->p[1];
        if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
            e == 't') {
            s->p += 2;
            continue;
        }
        if (e != 'u' || s->end - s->p < 6)
            return -1;
        unsigned u, lo;
        if (hex4(s->p + 2, &u) < 0)
            return -1;
        s->p += 6;
        /* Surrogates must pair up, as jansson insists. */
        if (u >= 0xDC00 && u <= 0xDFFF)
            return -1;
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' || hex4(s->p + 2, &lo) < 0 ||
                lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            s->p += 6;
        }
    }
    return -1;
}

static int digits(struct scan *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start ? 0 : -1;
}

static int number(struct scan *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (digits(s) < 0)
        return -1;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (digits(s) < 0)
            return -1;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (digits(s) < 0)
            return -1;
    }
    return 0;
}

static int literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

static int value(struct scan *s);

static int array(struct scan *s)
{
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    for (;;) {
        if (value(s) < 0)
            return -1;
        ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == ']') {
            s->p++;
            return 0;
        }
        if (*s->p++ != ',')
            return -1;
    }
}

static int object(struct scan *s, const char *const *keys, size_t nkeys, struct rg_str *spans)
{
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        int escaped = 0;
        ws(s);
        if (s->p >= s->end || *s->p != '"')
            return -1;
        const char *k = s->p + 1;
        if (string(s, &escaped) < 0)
            return -1;
        size_t klen = (size_t)(s->p - 1 - k);
        ws(s);
        if (s->p >= s->end || *s->p++ != ':')
            return -1;
        ws(s);
        const char *v = s->p;
        if (value(s) < 0)
            return -1;
        if (keys) {
            /* An escaped name could spell a wanted key: decline rather than guess. */
            if (escaped)
                return -2;
            for (size_t i = 0; i < nkeys; i++)
                if (strlen(keys[i]) == klen && memcmp(keys[i], k, klen) == 0) {
                    spans[i].ptr = v; /* the last one wins, as in rg_json_parse */
                    spans[i].len = (size_t)(s->p - v);
                }
        }
        ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == '}') {
            s->p++;
            return 0;
        }
        if (*s->p++ != ',')
            return -1;
    }
}

static int value(struct scan *s)
{
    int r;
    ws(s);
    if (s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '{':
    case '[':
        if (++s->depth > SCAN_MAX_DEPTH)
            return -2;
        r = *s->p == '{' ? object(s, NULL, 0, NULL) : array(s);
        s->depth--;
        return r;
    case '"':
        return string(s, NULL);
    case 't':
        return literal(s, "true");
    case 'f':
        return literal(s, "false");
    case 'n':
        return literal(s, "null");
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return number(s);
        return -1;
    }
}

int core_json_members(const char *buf, size_t len, const char *const *keys, size_t nkeys,
                      struct rg_str *ret_spans)
{
    struct scan s = {buf, buf + len, 0};
    struct rg_str spans[8] = {{NULL, 0}};

    RG_ASSERT(nkeys <= RG_ARRAY_SIZE(spans));
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        s.p += 3;
    if (rg_utf8_check(s.p, (size_t)(s.end - s.p)) >= 0)
        return -1;
    ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return -1;
    s.depth = 1;
    int r = object(&s, keys, nkeys, spans);
    if (r < 0)
        return r;
    ws(&s);
    if (s.p != s.end)
        return -1;
    memcpy(ret_spans, spans, nkeys * sizeof *spans);
    return 0;
}
