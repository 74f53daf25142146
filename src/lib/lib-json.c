/* JSON helpers over jansson (see rg/json.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rg/json.h"
#include "rg/mem.h"

const char *rg_json_str(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *rg_json_nonempty(const json_t *obj, const char *key)
{
    const char *s = rg_json_str(obj, key);
    if (!s)
        return NULL;
    for (const char *p = s; *p; p++)
        if (!isspace((unsigned char)*p))
            return s;
    return NULL;
}

json_t *rg_json_arr(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_array(v) ? v : NULL;
}

json_t *rg_json_obj(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_object(v) ? v : NULL;
}

long rg_utf8_check(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return (long)i;
        }
        if (i + n >= len) /* truncated sequence */
            return (long)i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return (long)i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return (long)i;
        i += n + 1;
    }
    return -1;
}

size_t rg_json_bom_len(const char *buf, size_t len)
{
    return len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

int rg_json_parse(const char *buf, size_t len, json_t **ret, struct rg_errinfo *ei)
{
    return rg_json_parse_dup(buf, len, ret, NULL, NULL, ei);
}

int rg_json_parse_dup(const char *buf, size_t len, json_t **ret, int *ret_dup_line,
                      int *ret_dup_column, struct rg_errinfo *ei)
{
    json_error_t jerr;
    long bad;
    size_t skip = rg_json_bom_len(buf, len);

    bad = rg_utf8_check(buf + skip, len - skip);
    if (bad >= 0) {
        int r = rg_errinfo_set(ei, RG_EUTF8, "invalid UTF-8 at byte offset %ld", bad + (long)skip);
        if (ei)
            ei->offset = bad + (long)skip;
        return r;
    }
    size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;
    int want_dup = ret_dup_line && ret_dup_column;
    json_t *j = json_loadb(buf + skip, len - skip, flags | (want_dup ? JSON_REJECT_DUPLICATES : 0), &jerr);
    if (want_dup)
        *ret_dup_line = *ret_dup_column = 0;
    if (!j && want_dup && json_error_code(&jerr) == json_error_duplicate_key) {
        *ret_dup_line = jerr.line;
        *ret_dup_column = jerr.column;
        j = json_loadb(buf + skip, len - skip, flags, &jerr);
    }
    if (!j) {
        int r = rg_errinfo_set(ei, RG_EJSON, "invalid JSON at line %d, column %d: %s", jerr.line,
                               jerr.column, jerr.text);
        if (ei) {
            ei->line = jerr.line;
            ei->column = jerr.column;
            ei->offset = jerr.position + (long)skip;
        }
        return r;
    }
    *ret = j;
    return 0;
}

int rg_json_pointer_push(struct rg_buf *b, const char *token)
{
    int r = rg_buf_putc(b, '/');
    for (const char *p = token; r == 0 && *p; p++) {
        if (*p == '~')
            r = rg_buf_append(b, "~0", 2);
        else if (*p == '/')
            r = rg_buf_append(b, "~1", 2);
        else
            r = rg_buf_putc(b, *p);
    }
    return r;
}

int rg_json_quote(struct rg_buf *b, const char *s, size_t len)
{
    int r = rg_buf_putc(b, '"');
    for (size_t i = 0; r == 0 && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        switch (c) {
        case '"':
            r = rg_buf_append(b, "\\\"", 2);
            break;
        case '\\':
            r = rg_buf_append(b, "\\\\", 2);
            break;
        case '\n':
            r = rg_buf_append(b, "\\n", 2);
            break;
        case '\r':
            r = rg_buf_append(b, "\\r", 2);
            break;
        case '\t':
            r = rg_buf_append(b, "\\t", 2);
            break;
        default:
            if (c < 0x20) {
                int n = snprintf(esc, sizeof esc, "\\u%04x", c);
                r = rg_buf_append(b, esc, (size_t)n);
            } else {
                r = rg_buf_putc(b, (char)c);
            }
        }
    }
    return r ? r : rg_buf_putc(b, '"');
}
